import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { readAuditLog } from '../../src/audit/audit-log.js';
import { parseConfig } from '../../src/config/load.js';
import { memoryLogger } from '../../src/logging/logger.js';
import type { ActionNotification } from '../../src/notify/events.js';
import { CgroupFs } from '../../src/procfs/cgroupfs.js';
import { ProcessTable } from '../../src/procfs/process-table.js';
import { guardTrigger } from '../../src/remediation/pipeline.js';
import { createRemediation } from '../../src/remediation/setup.js';
import { LiveSnapshotReader, type SnapshotReader } from '../../src/remediation/snapshot.js';
import { cleanup, files, identity, memorySink, proc, removeDir, spawnTree, type OwnedTree } from '../receiver/harness.js';

const trees: OwnedTree[] = [];
const dirs: string[] = [];
const allowed = (): Set<number> => new Set(trees.flatMap((t) => t.pids));
afterAll(() => {
  cleanup(trees);
  dirs.forEach(removeDir);
});

/**
 * The guard's view restricted to processes this test started: host ranking can only ever pick them. Memory
 * reads as 99 % used while any of them is alive, and as it really is once they are gone.
 */
function restrictedReader(): SnapshotReader {
  const live = new LiveSnapshotReader(proc, new CgroupFs('/sys/fs/cgroup', files), files, { pid: process.pid, ppid: process.ppid }, () => new Date());
  return {
    read: (req) => {
      const s = live.read(req);
      const mine = allowed();
      const entries = s.processes.entries.filter((e) => mine.has(e.pid));
      const pressure = entries.some((e) => e.state !== 'Z');
      const memory = pressure ? { ...s.memory, availableBytes: Math.round(s.memory.totalBytes * 0.005), usedRatio: 0.995 } : s.memory;
      return { ...s, processes: new ProcessTable(entries), memory };
    },
  };
}

function setup(remediation: Record<string, unknown>) {
  const dir = mkdtempSync(join(tmpdir(), 'headroom-guard-'));
  dirs.push(dir);
  const killed: number[] = [];
  const sink = memorySink();
  const r = createRemediation({
    config: parseConfig({ thresholds: { host_memory_critical: 0.995 }, remediation: { state_dir: dir, min_victim_size: '1K', kill_grace: '2s', recovered: { host_used_below: 0.99 }, ...remediation } }, 'test'),
    proc,
    cgroups: new CgroupFs('/sys/fs/cgroup', files),
    files,
    self: { pid: process.pid, ppid: process.ppid },
    host: 'test-host',
    actionsEnabled: true,
    now: () => new Date(),
    monotonic: () => performance.now() / 1000,
    sleep: (ms) => new Promise((res) => setTimeout(res, ms)),
    kill: (pid, signal) => {
      killed.push(pid);
      if (!allowed().has(pid)) throw new Error(`test safety: PID ${pid} not started by this test`);
      process.kill(pid, signal);
    },
    writeFile: (path) => {
      throw new Error(`unexpected write ${path}`);
    },
    sink,
    logger: memoryLogger(),
    registry: new Registry(),
    snapshots: restrictedReader(),
  });
  return { r, dir, killed, sink };
}

describe('the pipeline as the local guard calls it', () => {
  it('ranks, stops the victim tree, writes the incident, dedups the crossing, and is not held back by the cooldown (issue 14)', async () => {
    const { r, dir, sink } = setup({ cooldown: '1h' });
    const t = await spawnTree('headroom-guard-victim');
    trees.push(t);
    const crossing = guardTrigger({ at: new Date(Date.now() - 2000) });
    const out = await r.pipeline.handle(crossing);
    expect(out, JSON.stringify(out)).toMatchObject({ kind: 'action', action: 'stop_process_tree', result: 'success', dryRun: false });
    expect(t.pids.some((p) => identity(p).alive)).toBe(false);
    const note = sink.items.find((n): n is ActionNotification => n.kind === 'action');
    expect(note?.source).toBe('guard');
    expect(note?.target.process?.pid).toBe(t.pid);
    expect(note?.timeToResolutionSeconds).toBeGreaterThanOrEqual(2);
    // Memory recovered: the incident is held open for close_after (a re-crossing would continue it).
    expect(out).toMatchObject({ incident: { open: false, held: true, victims: 1 } });
    expect(r.incidents.list()).toHaveLength(0);

    expect(await r.pipeline.handle(crossing)).toEqual({ kind: 'duplicate' });
    const t2 = await spawnTree('headroom-guard-second');
    trees.push(t2);
    // A new crossing within the Alertmanager path's cooldown: the guard, the last line of defence, acts again —
    // within close_after, in the same incident.
    const next = await r.pipeline.handle(guardTrigger({ at: new Date() }));
    expect(next).toMatchObject({ kind: 'action', result: 'success', incident: { open: false, held: true, victims: 2 } });
    expect(t2.pids.some((p) => identity(p).alive)).toBe(false);
    r.pipeline.closeHeld();
    await Promise.resolve(); // the audit log's batched write (one microtask)
    const log = readAuditLog(join(dir, 'audit.jsonl'));
    expect(log.map((e) => `${e.event}:${e.reasonCode}`)).toEqual(['action:success', 'duplicate:duplicate', 'action:success', 'incident:recovered']);
    expect(r.incidents.list()).toHaveLength(1);
    r.close();
  });

  it('one incident, two paths: after the guard acted, the receiver\'s late critical alert acts on nothing', async () => {
    const { r, dir } = setup({ cooldown: '1h' });
    const t = await spawnTree('headroom-guard-first');
    trees.push(t);
    expect(await r.pipeline.handle(guardTrigger({ at: new Date(Date.now() - 1000) }))).toMatchObject({ kind: 'action', result: 'success' });
    // The same crisis reaches the receiver through Prometheus and Alertmanager seconds later; another process
    // now looks like the best victim.
    const t2 = await spawnTree('headroom-guard-late-alert');
    trees.push(t2);
    const late = await r.pipeline.handle({
      kind: 'critical',
      source: 'receiver',
      key: 'fp-host-memory|2025-12-12T03:12:00.000Z',
      alertName: 'HeadroomHostMemoryHigh',
      target: { ok: true, target: { kind: 'host' } },
      startsAt: new Date(Date.now() - 500),
    });
    // Issue 14: a late copy of the guard's incident is a duplicate, not a second incident.
    expect(late).toMatchObject({ kind: 'duplicate' });
    expect(late.kind === 'duplicate' ? late.reason : '').toMatch(/the guard's incident .* is held open after recovery until .* \(remediation\.incident\.close_after\)/);
    expect(t2.pids.every((p) => identity(p).alive)).toBe(true);
    const log = readAuditLog(join(dir, 'audit.jsonl'));
    expect(log.filter((e) => e.event === 'action')).toHaveLength(1);
    expect(log.find((e) => e.event === 'duplicate')).toMatchObject({ source: 'receiver', reasonCode: 'duplicate' });
    r.close();
  });

  it('global dry run: decides and reports, signals nothing, and marks the incident', async () => {
    const { r, killed } = setup({ dry_run: true });
    const t = await spawnTree('headroom-guard-dry');
    trees.push(t);
    const out = await r.pipeline.handle(guardTrigger({ at: new Date() }));
    expect(out).toMatchObject({ kind: 'action', result: 'dry_run', dryRun: true });
    expect(killed).toEqual([]);
    expect(t.pids.every((p) => identity(p).alive)).toBe(true);
    const rec = r.incidents.list()[0];
    expect(r.incidents.show(rec?.id ?? '')).toContain('(DRY RUN)');
    r.close();
  });

  it('re-checks before acting: memory that recovered means no action', async () => {
    const { r } = setup({});
    cleanup(trees);
    for (let i = 0; i < 1500 && trees.some((t) => t.pids.some((p) => identity(p).alive)); i++) await new Promise((res) => setTimeout(res, 20));
    // No owned process alive → the restricted view shows real (low) host usage, below host_used_below 0.99.
    const out = await r.pipeline.handle(guardTrigger({ at: new Date() }));
    expect(out).toMatchObject({ kind: 'refusal', reasonCode: 'recovered' });
    r.close();
  });
});
