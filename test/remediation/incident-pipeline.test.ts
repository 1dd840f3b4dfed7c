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

async function setup(remediation: Record<string, unknown>, actionsEnabled = true, trees0 = 3) {
  const dir = mkdtempSync(join(tmpdir(), 'headroom-incident-'));
  dirs.push(dir);
  const mine: OwnedTree[] = [];
  // The pipeline's wall clock runs ahead of the real one by `ahead` ms (the hold after recovery, close_after).
  const clock = { ahead: 0 };
  for (let i = 0; i < trees0; i++) {
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
    now: () => new Date(Date.now() + clock.ahead),
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
  const spawnMine = async (name: string): Promise<OwnedTree> => {
    const t = await spawnTree(name);
    trees.push(t);
    mine.push(t);
    return t;
  };
  return { r, dir, sink, mine, clock, spawnMine };
}

/** A receiver critical host alert, as Alertmanager's webhook makes it (key = fingerprint|startsAt). */
function hostAlert(fingerprint: string, alertName: string, startsAt = new Date(Date.now() - 60_000)): CriticalTrigger {
  return { kind: 'critical', source: 'receiver', key: `${fingerprint}|${startsAt.toISOString()}`, fingerprint, alertName, target: { ok: true, target: { kind: 'host' } }, startsAt };
}

const aliveTrees = (ts: readonly OwnedTree[]): number => ts.filter((t) => t.pids.some((p) => identity(p).alive)).length;

describe('an incident in the pipeline (issue 14)', () => {
  it('the guard: one victim per step, not held back by the cooldown, until below the recovered line; one incident, one report, one action message and one summary', async () => {
    const { r, dir, sink, mine, clock } = await setup({});
    const crossing = guardTrigger({ at: new Date(Date.now() - 1000) });
    const steps = [];
    for (let i = 0; i < 5; i++) {
      const d = await r.pipeline.handle(crossing, { urgent: true });
      steps.push(d);
      if (!(d.kind === 'action' && d.incident?.open === true)) break;
    }
    expect(steps.map((d) => d.kind)).toEqual(['action', 'action', 'action']);
    expect(steps.map((d) => (d.kind === 'action' ? d.incident?.open : undefined))).toEqual([true, true, false]);
    // Under the recovered line: held open for close_after (90 s by default), nothing written yet ...
    expect(steps[2]).toMatchObject({ incident: { held: true, victims: 3 } });
    expect(aliveTrees(mine)).toBe(0);
    expect(readAuditLog(join(dir, 'audit.jsonl')).filter((e) => e.event === 'incident')).toEqual([]);
    expect(r.incidents.list()).toEqual([]);
    await r.pipeline.idle();
    r.pipeline.closeExpired();
    expect(r.incidents.list()).toEqual([]);
    // ... and closed, with its one report and summary, once close_after is over.
    clock.ahead = 91_000;
    r.pipeline.closeExpired();
    await Promise.resolve(); // the audit log's batched write (one microtask)
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

  it("the guard's next crossing while its incident is still open (memory back over the guard line, not yet under the recovered line) continues that incident: none is dropped unreported", async () => {
    const { r, dir, mine, clock } = await setup({});
    const a = await r.pipeline.handle(guardTrigger({ at: new Date(Date.now() - 3000) }), { urgent: true });
    expect(a).toMatchObject({ kind: 'action', incident: { open: true, victims: 1 } });
    const id = a.kind === 'action' ? a.incidentId : undefined;
    // The guard's loop ended with the incident open; memory dips again: a new crossing, a new key.
    const b = await r.pipeline.handle(guardTrigger({ at: new Date(Date.now() - 1000) }), { urgent: true });
    expect(b).toMatchObject({ kind: 'action', incidentId: id, incident: { id, open: true, victims: 2 } });
    const c = await r.pipeline.handle(guardTrigger({ at: new Date(Date.now() - 1000) }), { urgent: true });
    expect(c).toMatchObject({ kind: 'action', incidentId: id, incident: { id, held: true, victims: 3 } });
    expect(aliveTrees(mine)).toBe(0);
    await r.pipeline.idle();
    clock.ahead = 91_000;
    r.pipeline.closeExpired();
    await Promise.resolve(); // the audit log's batched write (one microtask)
    const log = readAuditLog(join(dir, 'audit.jsonl'));
    expect(log.map((e) => `${e.event}:${e.reasonCode}`)).toEqual(['action:success', 'action:success', 'action:success', 'incident:recovered']);
    expect(new Set(log.map((e) => e.incidentId))).toEqual(new Set([id]));
    expect(r.incidents.list().map((x) => x.id)).toEqual([id]);
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
    const alert = hostAlert('fp-host', 'HeadroomHostMemoryHigh');
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
  it('the receiver: another host alert while its incident is open (swap critical after memory critical) is that incident\'s next step, not a cooldown refusal; so is the guard', async () => {
    const { r, mine } = await setup({}, true, 3);
    const first = await r.pipeline.handle(hostAlert('fp-mem', 'HeadroomHostMemoryHigh'));
    expect(first).toMatchObject({ kind: 'action', result: 'success', incident: { open: true, victims: 1 } });
    const id = first.kind === 'action' ? first.incidentId : undefined;
    const swap = await r.pipeline.handle(hostAlert('fp-swap', 'HeadroomSwapUsage'));
    expect(swap).toMatchObject({ kind: 'action', result: 'success', incidentId: id, incident: { id, open: true, victims: 2 } });
    const guard = await r.pipeline.handle(guardTrigger({ at: new Date(Date.now() - 1000) }), { urgent: true });
    expect(guard).toMatchObject({ kind: 'action', result: 'success', incidentId: id, incident: { id, held: true, victims: 3 } });
    expect(aliveTrees(mine)).toBe(0);
    r.close();
  });

  it('close_after: a re-crossing within the hold continues the same incident (same id, victims appended in order, one report, one action message, one summary); a late Alertmanager alert meanwhile is a duplicate', async () => {
    const { r, dir, sink, clock, spawnMine } = await setup({}, true, 2);
    const c1 = guardTrigger({ at: new Date(Date.now() - 1000) });
    const a = await r.pipeline.handle(c1, { urgent: true });
    expect(a).toMatchObject({ kind: 'action', incident: { open: true, victims: 1 } });
    const b = await r.pipeline.handle(c1, { urgent: true });
    expect(b).toMatchObject({ kind: 'action', incident: { open: false, held: true, victims: 2 } });
    const id = a.kind === 'action' ? a.incidentId : undefined;
    expect(id).toBeDefined();
    // 30 s later (within close_after, 90 s) a job that kept growing takes memory past the line again.
    clock.ahead = 30_000;
    await r.pipeline.idle();
    r.pipeline.closeExpired();
    expect(r.incidents.list()).toEqual([]);
    const late = await spawnMine('headroom-incident-late-job');
    const c = await r.pipeline.handle(guardTrigger({ at: new Date(Date.now() + clock.ahead) }), { urgent: true });
    expect(c).toMatchObject({ kind: 'action', result: 'success', incidentId: id, incident: { id, open: false, held: true, victims: 3 } });
    // Alertmanager's alert for the same condition arrives during the hold: a duplicate, not a second incident.
    const alert = await r.pipeline.handle({
      kind: 'critical',
      source: 'receiver',
      key: 'fp-host|late',
      fingerprint: 'fp-host',
      alertName: 'HeadroomHostMemoryHigh',
      target: { ok: true, target: { kind: 'host' } },
      startsAt: new Date(Date.now() + clock.ahead - 20_000),
    });
    expect(alert).toMatchObject({ kind: 'duplicate' });
    clock.ahead = 30_000 + 91_000;
    await r.pipeline.idle();
    r.pipeline.closeExpired();
    await Promise.resolve(); // the audit log's batched write (one microtask)
    const log = readAuditLog(join(dir, 'audit.jsonl'));
    expect(log.map((e) => `${e.event}:${e.reasonCode}`)).toEqual(['action:success', 'action:success', 'action:success', 'duplicate:duplicate', 'incident:recovered']);
    const actions = log.filter((e) => e.event === 'action');
    expect(new Set(actions.map((e) => e.incidentId))).toEqual(new Set([id]));
    const [rec, ...more] = r.incidents.list();
    expect(more).toEqual([]);
    expect(rec?.id).toBe(id);
    expect(rec?.victims?.map((v) => v.pid)).toEqual(actions.map((e) => (e.target as { root: { pid: number } }).root.pid));
    expect(rec?.victims?.at(-1)?.pid).toBe(late.pid);
    expect(rec).toMatchObject({ closedBecause: 'recovered', recrossings: 1 });
    // The report says when memory came back for good and when the incident finally ended (close_after later).
    const recovery = Date.parse(rec?.timeline.recovery ?? '');
    const ended = Date.parse(rec?.timeline.ended ?? '');
    expect(ended - recovery).toBeGreaterThanOrEqual(90_000);
    const report = r.incidents.show(rec?.id ?? '') ?? '';
    expect(report).toMatch(/\| Ended \| .* UTC \(recovered\) \|/);
    expect(report).toContain('went past the guard line again once');
    // One notification thread: the first victim's action message, then one summary naming all three.
    expect(sink.items.map((n) => n.kind)).toEqual(['action', 'incident']);
    expect((sink.items[1] as IncidentNotification).victims).toHaveLength(3);
    expect((sink.items[1] as IncidentNotification).reason).toMatch(/after 1 re-crossing of the line/);
    r.close();
  });

  it('close_after: once the hold is over, the next crossing is a new incident', async () => {
    const { r, sink, clock, spawnMine } = await setup({}, true, 1);
    const first = await r.pipeline.handle(guardTrigger({ at: new Date(Date.now() - 1000) }), { urgent: true });
    expect(first).toMatchObject({ kind: 'action', incident: { held: true, victims: 1 } });
    clock.ahead = 91_000;
    await spawnMine('headroom-incident-next-job');
    const second = await r.pipeline.handle(guardTrigger({ at: new Date(Date.now() + clock.ahead) }), { urgent: true });
    expect(second).toMatchObject({ kind: 'action', incident: { held: true, victims: 1 } });
    expect(second.kind === 'action' && first.kind === 'action' ? second.incidentId : '').not.toBe(first.kind === 'action' ? first.incidentId : '');
    r.pipeline.closeHeld();
    expect(r.incidents.list().map((i) => i.victims?.length)).toEqual([1, 1]);
    // The first closed at the end of its hold; the second, still held, when the agent stopped (closeHeld).
    expect(r.incidents.list().map((i) => i.closedBecause)).toEqual(['recovered', 'recovered']);
    expect(r.incidents.list()[0]?.detail).not.toContain('the agent stopped');
    expect(r.incidents.list()[1]?.detail).toContain('closed before close_after was over: the agent stopped');
    expect(sink.items.map((n) => n.kind)).toEqual(['action', 'incident', 'action', 'incident']);
    r.close();
  });

  it('close_after under the receiver: a host alert that stays firing continues its held incident when memory is past the line again; resolved closes it as recovered', async () => {
    const { r, dir, spawnMine } = await setup({}, true, 1);
    const alert = hostAlert('fp-host', 'HeadroomHostMemoryHigh');
    expect(await r.pipeline.handle(alert)).toMatchObject({ kind: 'action', incident: { held: true, victims: 1 } });
    await spawnMine('headroom-incident-receiver-late-job');
    // Alertmanager repeats the still-firing alert: past the line again within close_after → the same incident.
    expect(await r.pipeline.handle(alert)).toMatchObject({ kind: 'action', incident: { held: true, victims: 2 } });
    const resolved: ResolvedTrigger = { kind: 'resolved', source: 'receiver', key: 'fp-host|resolved', fingerprint: 'fp-host', alertName: 'HeadroomHostMemoryHigh', summary: 'ok', startsAt: alert.startsAt, endsAt: new Date() };
    await r.pipeline.handle(resolved);
    const log = readAuditLog(join(dir, 'audit.jsonl'));
    expect(log.map((e) => `${e.event}:${e.reasonCode}`)).toEqual(['action:success', 'action:success', 'incident:recovered', 'notified:resolved']);
    expect(r.incidents.list()).toHaveLength(1);
    expect(r.incidents.list()[0]).toMatchObject({ recrossings: 1, closedBecause: 'recovered' });
    r.close();
  });
});
