import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { readAuditLog } from '../../src/audit/audit-log.js';
import { parseConfig } from '../../src/config/load.js';
import { memoryLogger } from '../../src/logging/logger.js';
import type { IncidentNotification } from '../../src/notify/events.js';
import { CgroupFs } from '../../src/procfs/cgroupfs.js';
import { ProcessTable } from '../../src/procfs/process-table.js';
import { guardTrigger } from '../../src/remediation/pipeline.js';
import { createRemediation } from '../../src/remediation/setup.js';
import { LiveSnapshotReader, type SnapshotReader } from '../../src/remediation/snapshot.js';
import type { CriticalTrigger, ResolvedTrigger } from '../../src/remediation/trigger.js';
import { cleanup, files, identity, memorySink, proc, removeDir, spawnTree, type OwnedTree } from '../receiver/harness.js';

const trees: OwnedTree[] = [];
const dirs: string[] = [];
const allowed = (): Set<number> => new Set(trees.flatMap((t) => t.pids));
afterAll(() => {
  cleanup(trees);
  dirs.forEach(removeDir);
});

/**
 * The pipeline's view restricted to the trees this test started. Memory reads as 50 % used plus 20 points per
 * tree still alive (capped at 99.5 %): three trees need three victims to get below the recovered line of 60 %.
 */
function restrictedReader(mine: () => OwnedTree[]): SnapshotReader {
  const live = new LiveSnapshotReader(proc, new CgroupFs('/sys/fs/cgroup', files), files, { pid: process.pid, ppid: process.ppid }, () => new Date());
  return {
    read: (req) => {
      const s = live.read(req);
      const pids = new Set(mine().flatMap((t) => t.pids));
      const entries = s.processes.entries.filter((e) => pids.has(e.pid));
      const alive = mine().filter((t) => identity(t.pid).alive).length;
      const used = Math.min(0.995, 0.5 + 0.2 * alive);
      return { ...s, processes: new ProcessTable(entries), memory: { ...s.memory, availableBytes: Math.round(s.memory.totalBytes * (1 - used)), usedRatio: used } };
    },
  };
}

async function setup(remediation: Record<string, unknown>, actionsEnabled = true) {
  const dir = mkdtempSync(join(tmpdir(), 'headroom-incident-'));
  dirs.push(dir);
  const mine: OwnedTree[] = [];
  for (let i = 0; i < 3; i++) {
    const t = await spawnTree(`headroom-incident-job-${i}`);
    trees.push(t);
    mine.push(t);
  }
  const sink = memorySink();
  const r = createRemediation({
    config: parseConfig(
      // The Alertmanager path's limits are strict: one action per hour, a cooldown of an hour.
      { remediation: { state_dir: dir, min_victim_size: '1K', kill_grace: '2s', cooldown: '1h', actions_per_window: 1, recovered: { host_used_below: 0.6, cgroup_used_below: 0.6 }, ...remediation } },
      'test',
    ),
    proc,
    cgroups: new CgroupFs('/sys/fs/cgroup', files),
    files,
    self: { pid: process.pid, ppid: process.ppid },
    host: 'test-host',
    actionsEnabled,
    now: () => new Date(),
    monotonic: () => performance.now() / 1000,
    sleep: (ms) => new Promise((res) => setTimeout(res, ms)),
    kill: (pid, signal) => {
      if (!allowed().has(pid)) throw new Error(`test safety: PID ${pid} not started by this test`);
      process.kill(pid, signal);
    },
    writeFile: (path) => {
      throw new Error(`unexpected write ${path}`);
    },
    sink,
    logger: memoryLogger(),
    registry: new Registry(),
    snapshots: restrictedReader(() => mine),
  });
  return { r, dir, sink, mine };
}

const aliveTrees = (ts: readonly OwnedTree[]): number => ts.filter((t) => t.pids.some((p) => identity(p).alive)).length;

describe('an incident in the pipeline (issue 14)', () => {
  it('the guard: one victim per step, not held back by the cooldown, until below the recovered line; one incident, one report, one action message and one summary', async () => {
    const { r, dir, sink, mine } = await setup({});
    const crossing = guardTrigger({ at: new Date(Date.now() - 1000) });
    const steps = [];
    for (let i = 0; i < 5; i++) {
      const d = await r.pipeline.handle(crossing, { urgent: true });
      steps.push(d);
      if (!(d.kind === 'action' && d.incident?.open === true)) break;
    }
    expect(steps.map((d) => d.kind)).toEqual(['action', 'action', 'action']);
    expect(steps.map((d) => (d.kind === 'action' ? d.incident?.open : undefined))).toEqual([true, true, false]);
    expect(aliveTrees(mine)).toBe(0);
    const log = readAuditLog(join(dir, 'audit.jsonl'));
    expect(log.map((e) => `${e.event}:${e.reasonCode}`)).toEqual(['action:success', 'action:success', 'action:success', 'incident:recovered']);
    const ids = new Set(log.map((e) => e.incidentId));
    expect(ids.size).toBe(1);
    expect(log.filter((e) => e.event === 'action').map((e) => e.key)).toEqual([crossing.key, `${crossing.key}#2`, `${crossing.key}#3`]);
    const [rec, ...more] = r.incidents.list();
    expect(more).toEqual([]);
    expect(rec?.victims?.map((v) => v.pid).sort()).toEqual(mine.map((t) => t.pid).sort());
    expect(rec?.closedBecause).toBe('recovered');
    expect(sink.items.map((n) => n.kind)).toEqual(['action', 'incident']);
    const summary = sink.items[1] as IncidentNotification;
    expect(summary.victims).toHaveLength(3);
    expect(summary.incidentId).toBe(rec?.id);
    r.close();
  });

  it('max_victims bounds the incident: the step after the limit is refused and the incident ends there', async () => {
    const { r, dir, sink, mine } = await setup({ incident: { max_victims: 2 } });
    const crossing = guardTrigger({ at: new Date() });
    const a = await r.pipeline.handle(crossing);
    const b = await r.pipeline.handle(crossing);
    const c = await r.pipeline.handle(crossing);
    expect([a.kind, b.kind]).toEqual(['action', 'action']);
    expect(c).toMatchObject({ kind: 'refusal', reasonCode: 'incident_max_victims', incident: { open: false, closedBecause: 'max_victims', victims: 2 } });
    expect(aliveTrees(mine)).toBe(1);
    const log = readAuditLog(join(dir, 'audit.jsonl'));
    expect(log.map((e) => `${e.event}:${e.reasonCode}`)).toEqual(['action:success', 'action:success', 'refusal:incident_max_victims', 'incident:max_victims']);
    expect(sink.items.map((n) => n.kind)).toEqual(['action', 'refusal', 'incident']);
    r.close();
  });

  it('the receiver: repeats of the same firing host alert continue its incident (not duplicates, not cooldown); resolved ends it', async () => {
    const { r, dir, mine } = await setup({});
    const alert: CriticalTrigger = {
      kind: 'critical',
      source: 'receiver',
      key: 'fp-host|2025-12-12T03:12:00.000Z',
      fingerprint: 'fp-host',
      alertName: 'HeadroomHostMemoryHigh',
      target: { ok: true, target: { kind: 'host' } },
      startsAt: new Date(Date.now() - 60_000),
    };
    const first = await r.pipeline.handle(alert);
    expect(first).toMatchObject({ kind: 'action', result: 'success', incident: { open: true, victims: 1 } });
    const repeat = await r.pipeline.handle(alert); // Alertmanager's repeat notification of the same firing alert
    expect(repeat).toMatchObject({ kind: 'action', result: 'success', incident: { open: true, victims: 2 } });
    const resolved: ResolvedTrigger = { kind: 'resolved', source: 'receiver', key: 'fp-host|resolved', fingerprint: 'fp-host', alertName: 'HeadroomHostMemoryHigh', summary: 'ok', startsAt: alert.startsAt, endsAt: new Date() };
    await r.pipeline.handle(resolved);
    expect(aliveTrees(mine)).toBe(1);
    const log = readAuditLog(join(dir, 'audit.jsonl'));
    expect(log.map((e) => `${e.event}:${e.reasonCode}`)).toEqual(['action:success', 'action:success', 'incident:resolved', 'notified:resolved']);
    // A new alert after that incident is the Alertmanager path's again: one action per hour, so cooldown.
    const later = await r.pipeline.handle({ ...alert, key: 'fp-other|later', fingerprint: 'fp-other', startsAt: new Date() });
    expect(later).toMatchObject({ kind: 'refusal', reasonCode: 'cooldown' });
    r.close();
  });
});
