import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import type { Action, ActionEnv, ActionReport } from '../../src/actions/action.js';
import { ACTIONS } from '../../src/actions/index.js';
import { readAuditLog } from '../../src/audit/audit-log.js';
import { parseConfig } from '../../src/config/load.js';
import type { HostFacts } from '../../src/domain/host.js';
import { IncidentStore } from '../../src/incidents/store.js';
import { memoryLogger } from '../../src/logging/logger.js';
import { policySettings } from '../../src/policy/settings.js';
import type { Plan, Snapshot } from '../../src/policy/types.js';
import { ProcessTable, type ProcessEntry } from '../../src/procfs/process-table.js';
import { actionAuditEntry, actionNotification, incidentRecord, type ActionRecord } from '../../src/remediation/action-record.js';
import { IdempotencyStore } from '../../src/remediation/idempotency.js';
import { createRemediationMetrics } from '../../src/remediation/metrics.js';
import { SnapshotCache } from '../../src/remediation/snapshot.js';
import { act } from '../../src/remediation/stages/act.js';
import { questionFor, recheck, snapshotAndDecide } from '../../src/remediation/stages/decide.js';
import { duplicateEntry, guardTrigger, isRepeat } from '../../src/remediation/stages/intake.js';
import { limitRefusal } from '../../src/remediation/stages/limits.js';
import { refusalNotification } from '../../src/remediation/stages/notify.js';
import { recordAction, recordRefusal } from '../../src/remediation/stages/record.js';
import { FileAuditLog } from '../../src/audit/audit-log.js';
import type { CriticalTrigger } from '../../src/remediation/trigger.js';

/** Each stage of src/remediation/pipeline.ts alone, on plain data (no /proc, no signals). */
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function dir(): string {
  const d = mkdtempSync(join(tmpdir(), 'headroom-core-stages-'));
  dirs.push(d);
  return d;
}

const GiB = 1024 ** 3;
const T0 = Date.parse('2025-12-12T03:13:00Z');
const settings = policySettings(parseConfig({ remediation: { min_victim_size: '1G', cooldown: '2m', actions_per_window: 3 } }, 'test').remediation);
const FACTS: HostFacts = { hostname: 'gpu-box-7', vendor: 'Google', model: 'Google Compute Engine', virtual: true, os: 'Debian GNU/Linux 12', cpus: 8 };

function entry(pid: number, ppid: number, rssGiB: number, comm = 'python3'): ProcessEntry {
  return { pid, ppid, pgrp: pid, session: pid, comm, state: 'S', isKernelThread: false, residentBytes: rssGiB * GiB, virtualBytes: rssGiB * GiB, cpuSeconds: 1, startTicks: pid * 10, startTimeSeconds: 1_765_500_000 + pid / 10 };
}

function snapshot(usedRatio: number, entries: ProcessEntry[] = [entry(4242, 1, 40), entry(4243, 4242, 8)], at = new Date(T0)): Snapshot {
  return {
    at,
    memory: { totalBytes: 62 * GiB, availableBytes: (1 - usedRatio) * 62 * GiB, usedRatio, scope: 'host' },
    hostMemTotalBytes: 62 * GiB,
    processes: new ProcessTable(entries),
    details: { get: (pid) => (entries.some((e) => e.pid === pid) ? { cmdline: ['python3', 'parallel_feature_testing.py'], oomScoreAdj: 0, uid: 1000, cgroup: '/user.slice' } : undefined) },
    self: { pid: 1, ppid: 0 },
  };
}

/** A reader returning the given snapshots in turn (the last one repeats), counting reads. */
function reader(...snaps: Snapshot[]): { read: () => Snapshot; reads: () => number } {
  let n = 0;
  return { read: () => snaps[Math.min(n++, snaps.length - 1)] as Snapshot, reads: () => n };
}

const hostCritical: CriticalTrigger = {
  kind: 'critical',
  source: 'receiver',
  key: 'fp1|2025-12-12T03:12:00.000Z',
  alertName: 'HeadroomHostMemoryCritical',
  target: { ok: true, target: { kind: 'host' } },
  startsAt: new Date(T0 - 60_000),
  fingerprint: 'fp1',
};

describe('stage 1, intake: dedupe', () => {
  it('repeats: a handled key, a key waiting in the queue; a refused key is new again after the recheck time', () => {
    const state = new IdempotencyStore(join(dir(), 'idem.jsonl'), T0, 86_400_000);
    const t = guardTrigger({ at: new Date(T0) });
    expect(t.key).toBe(`guard|host|${T0}`);
    expect(isRepeat(t, state, T0, 600_000, new Set())).toBe(false);
    expect(isRepeat(t, state, T0, 600_000, new Set([t.key]))).toBe(true);
    state.set({ key: t.key, state: 'refused', at: T0 });
    expect(isRepeat(t, state, T0 + 1000, 600_000, new Set())).toBe(true);
    expect(isRepeat(t, state, T0 + 600_001, 600_000, new Set())).toBe(false);
    state.set({ key: t.key, state: 'acted', at: T0, counted: true });
    expect(isRepeat(t, state, T0 + 10 * 600_000, 600_000, new Set())).toBe(true);
    expect(duplicateEntry(t, state, 'remediate')).toMatchObject({ event: 'duplicate', reasonCode: 'duplicate', route: 'remediate' });
    expect(duplicateEntry(t, state).reason).toContain('acted');
    state.close();
  });
});

describe('stages 2 and 4: snapshot and decide, re-check', () => {
  it('a guard watching a cgroup reads only that cgroup\'s processes', () => {
    const q = questionFor(guardTrigger({ at: new Date(T0), scope: '/sandbox' }));
    expect(q?.snapshot).toEqual({ scope: '/sandbox', cgroup: undefined, processesWithin: '/sandbox' });
    expect(questionFor(hostCritical)?.snapshot.processesWithin).toBeUndefined();
  });

  it('a refusal on a shared (cached) snapshot is decided again on a fresh read; the re-check always reads afresh', async () => {
    const q = questionFor(hostCritical);
    if (q === undefined) throw new Error('no question');
    const r = reader(snapshot(0.5), snapshot(0.97));
    const cache = new SnapshotCache(r, Number.POSITIVE_INFINITY);
    await cache.get(q.snapshot); // another trigger of the batch read it first
    const first = await snapshotAndDecide(q, cache, settings);
    expect(first.decision.kind).toBe('plan');
    expect(r.reads()).toBe(2);
    const again = await recheck(q, cache, settings);
    expect(r.reads()).toBe(3);
    expect(again.decision).toMatchObject({ kind: 'plan', action: 'stop_process_tree', target: { kind: 'process', root: { pid: 4242 } } });
  });

  /** A process alert for PID 4242 started at `startTime` (entry(4242, ...) starts at 1765500424.20). */
  function processCritical(startTime: string): CriticalTrigger {
    return { ...hostCritical, key: `fp-${startTime}`, alertName: 'HeadroomProcessMemoryCritical', target: { ok: true, target: { kind: 'process', pid: 4242, startTime } } };
  }

  /** reader() that can also read single PIDs, from `now` (the processes as they are at that moment). */
  function pidReader(now: () => ProcessEntry[], ...snaps: Snapshot[]): ReturnType<typeof reader> & { readProcesses: (pids: readonly number[]) => ProcessTable; pidReads: () => number } {
    const r = reader(...snaps);
    let n = 0;
    return {
      ...r,
      readProcesses: (pids) => {
        n += 1;
        return new ProcessTable(now().filter((e) => pids.includes(e.pid)));
      },
      pidReads: () => n,
    };
  }

  it('a "target gone" refusal on a shared snapshot is confirmed from that one PID: no scan of all of /proc while it is still gone', async () => {
    const q = questionFor(processCritical('1765500424.20'));
    if (q === undefined) throw new Error('no question');
    const others = [entry(5000, 1, 2)];
    const r = pidReader(() => others, snapshot(0.97, others));
    const cache = new SnapshotCache(r, Number.POSITIVE_INFINITY);
    await cache.get(q.snapshot);
    for (let i = 0; i < 3; i++) {
      const d = await snapshotAndDecide(q, cache, settings);
      expect(d.decision).toMatchObject({ kind: 'refusal', reasonCode: 'target_gone' });
    }
    expect(r.reads()).toBe(1); // before: one full read per refused alert (4)
    expect(r.pidReads()).toBe(3);
  });

  it('a PID still reused by another process is confirmed the same way', async () => {
    const q = questionFor(processCritical('1765000000.00'));
    if (q === undefined) throw new Error('no question');
    const now = [entry(4242, 1, 40)];
    const r = pidReader(() => now, snapshot(0.97, now));
    const cache = new SnapshotCache(r, Number.POSITIVE_INFINITY);
    await cache.get(q.snapshot);
    const d = await snapshotAndDecide(q, cache, settings);
    expect(d.decision).toMatchObject({ kind: 'refusal', reasonCode: 'pid_reused' });
    expect(r.reads()).toBe(1);
  });

  it('the named process started after the shared read: its PID is there now, so everything is read afresh and decided again', async () => {
    const q = questionFor(processCritical('1765500424.20'));
    if (q === undefined) throw new Error('no question');
    const before = [entry(5000, 1, 2)];
    const after = [entry(5000, 1, 2), entry(4242, 1, 40), entry(4243, 4242, 8)];
    const r = pidReader(() => after, snapshot(0.97, before), snapshot(0.97, after));
    const cache = new SnapshotCache(r, Number.POSITIVE_INFINITY);
    await cache.get(q.snapshot);
    const d = await snapshotAndDecide(q, cache, settings);
    expect(r.pidReads()).toBe(1);
    expect(r.reads()).toBe(2);
    expect(d.decision).toMatchObject({ kind: 'plan', action: 'stop_process_tree', target: { kind: 'process', root: { pid: 4242 } } });
  });

  it('a reader that cannot read one PID gets the full fresh read, as before', async () => {
    const q = questionFor(processCritical('1765500424.20'));
    if (q === undefined) throw new Error('no question');
    const others = [entry(5000, 1, 2)];
    const r = reader(snapshot(0.97, others));
    const cache = new SnapshotCache(r, Number.POSITIVE_INFINITY);
    await cache.get(q.snapshot);
    const d = await snapshotAndDecide(q, cache, settings);
    expect(d.decision).toMatchObject({ kind: 'refusal', reasonCode: 'target_gone' });
    expect(r.reads()).toBe(2);
  });
});

describe('stage 3, limits', () => {
  const plan = { kind: 'plan', action: 'stop_process_tree', target: { kind: 'host' }, reason: 'r', targetBytes: 1 } as Plan;
  const o = { actionsEnabled: true, dryRun: false, actionTimes: [] as number[], nowMs: T0, limits: settings.limits };
  it('the credential gate holds the receiver, never the guard', () => {
    expect(limitRefusal(hostCritical, plan, { ...o, actionsEnabled: false })).toMatchObject({ code: 'actions_disabled', withPlan: true });
    expect(limitRefusal(guardTrigger({ at: new Date(T0) }), plan, { ...o, actionsEnabled: false })).toBeUndefined();
  });
  it('cooldown and rate limit over earlier actions; a dry run is never limited', () => {
    expect(limitRefusal(hostCritical, plan, { ...o, actionTimes: [T0 - 10_000] })).toMatchObject({ code: 'cooldown' });
    expect(limitRefusal(hostCritical, plan, { ...o, actionTimes: [T0 - 3_000_000, T0 - 2_000_000, T0 - 1_000_000] })).toMatchObject({ code: 'rate_limited' });
    expect(limitRefusal(hostCritical, plan, { ...o, dryRun: true, actionTimes: [T0 - 10_000] })).toBeUndefined();
  });
});

function actionEnv(): Omit<ActionEnv, 'dryRun'> {
  return {
    processes: { identify: () => undefined, signal: () => 'gone', descendants: () => [], oomScoreAdj: () => 0, setOomScoreAdj: () => undefined },
    meminfo: () => new Map(),
    writeFile: () => {
      throw new Error('no writes');
    },
    dropCachesPath: '/nonexistent',
    sleep: () => Promise.resolve(),
    monotonic: () => 0,
    killGraceMs: 1000,
    confirmTimeoutMs: 1000,
    pollMs: 10,
    throttleRatio: 0.9,
    protectSshd: { oomScoreAdj: -900 },
  };
}

const report: ActionReport = {
  action: 'stop_process_tree',
  dryRun: false,
  result: 'success',
  detail: 'SIGTERM to 2 processes, all exited within the grace period; all gone',
  before: { processes: 2, tree_resident_bytes: 48 * GiB },
  after: { processes: 0, tree_resident_bytes: 0 },
  freedBytes: 48 * GiB,
  durationSeconds: 0.4,
  signalled: [{ pid: 4242, startTime: '1765500424.20' }],
  remaining: [],
};

async function acted(makeAction: (state: IdempotencyStore) => Action, after: Snapshot): Promise<{ record: ActionRecord; state: IdempotencyStore; d: string }> {
  const d = dir();
  const state = new IdempotencyStore(join(d, 'idem.jsonl'), T0, 86_400_000);
  const q = questionFor(hostCritical);
  if (q === undefined) throw new Error('no question');
  const before = snapshot(0.97);
  const plan = (await recheck(q, new SnapshotCache({ read: () => before }), settings)).decision as Plan;
  const record = await act(hostCritical, plan, before, q, new SnapshotCache({ read: () => after }), {
    host: 'gpu-box-7',
    hostFacts: FACTS,
    dryRun: false,
    actions: { ...ACTIONS, stop_process_tree: makeAction(state) },
    actionEnv: actionEnv(),
    state,
    now: () => new Date(T0),
    recoveredBelow: 0.9,
  }, new Date(T0 - 600_000));
  return { record, state, d };
}

describe('stage 5, act', () => {
  it('claims the key durably before the action, and records what the action reported and memory after', async () => {
    let claimed: string | undefined;
    const { record, state } = await acted(
      (st) => ({
        name: 'stop_process_tree',
        run: () => {
          claimed = st.get(hostCritical.key)?.state; // what a crash during the action would leave behind
          return Promise.resolve(report);
        },
      }),
      snapshot(0.2, []),
    );
    expect(claimed).toBe('in_progress');
    expect(record.ending).toMatchObject({ kind: 'ran', report: { result: 'success' }, memoryAfter: { usedRatio: 0.2 } });
    state.close();
  });
  it('a throwing action is part of the record, not an exception', async () => {
    const { record, state } = await acted(() => ({ name: 'stop_process_tree', run: () => Promise.reject(new Error('EPERM')) }), snapshot(0.97));
    expect(record.ending).toEqual({ kind: 'threw', message: 'EPERM' });
    state.close();
  });
});

describe('stage 6 and 7: record and notify, all derived from the one ActionRecord', () => {
  it('audit line, incident and notification agree on target, memory, incident id and machine', async () => {
    const { record, state, d } = await acted(() => ({ name: 'stop_process_tree', run: () => Promise.resolve(report) }), snapshot(0.2, []));
    const audit = new FileAuditLog(join(d, 'audit.jsonl'));
    const incidents = new IncidentStore(join(d, 'incidents'));
    const saved = recordAction(record, { state, incidents, audit, metrics: createRemediationMetrics(new Registry()), now: () => new Date(T0), logger: memoryLogger() });
    const [line] = readAuditLog(join(d, 'audit.jsonl'));
    const incident = incidents.list()[0];
    const note = actionNotification(record, saved);
    expect(saved?.id).toBe(incident?.id);
    expect(line).toMatchObject({ event: 'action', reasonCode: 'success', incidentId: incident?.id, freedBytes: 48 * GiB, memoryAfter: { usedRatio: 0.2 } });
    expect(note).toMatchObject({ kind: 'action', incidentId: incident?.id, freedBytes: 48 * GiB, target: { process: { pid: 4242 } } });
    expect(note?.machine).toContain('Google Compute Engine');
    expect(incident).toMatchObject({ target: { process: { pid: 4242 } }, memoryAfter: { usedRatio: 0.2 }, timeline: { firstWarning: new Date(T0 - 600_000).toISOString() } });
    expect(incident?.machine).toContain('8 CPUs');
    expect(incidents.show(incident?.id ?? '')).toContain('**Machine**: Google Google Compute Engine (VM)');
    expect(incidentRecord(record)?.timeToResolutionSeconds).toBe(60);
    expect(actionAuditEntry(record, 'x').incidentId).toBe('x');
    expect(state.get(hostCritical.key)).toMatchObject({ state: 'acted', counted: true });
    audit.close();
    state.close();
  });

  it('a thrown action: audited as an error, counted by the rate limit, then a counted refusal (defect 2)', async () => {
    const { record, state, d } = await acted(() => ({ name: 'stop_process_tree', run: () => Promise.reject(new Error('EPERM')) }), snapshot(0.97));
    const audit = new FileAuditLog(join(d, 'audit.jsonl'));
    const deps = { state, incidents: new IncidentStore(join(d, 'incidents')), audit, metrics: createRemediationMetrics(new Registry()), now: () => new Date(T0), logger: memoryLogger() };
    expect(recordAction(record, deps)).toBeUndefined();
    expect(actionNotification(record)).toBeUndefined();
    recordRefusal(hostCritical, { reasonCode: 'action_failed', reason: 'stop_process_tree failed: EPERM' }, new Date(T0), deps, true);
    audit.close();
    expect(readAuditLog(join(d, 'audit.jsonl')).map((e) => `${e.event}:${e.reasonCode}`)).toEqual(['action:error', 'refusal:action_failed']);
    expect(state.actionTimes()).toEqual([T0]);
    expect(refusalNotification({ host: 'gpu-box-7', machine: 'GCE' }, hostCritical, new Date(T0), 'action_failed', 'x', undefined, undefined)).toMatchObject({ kind: 'refusal', machine: 'GCE', reasonCode: 'action_failed' });
    state.close();
  });
});
