import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { Command } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { registerIncidents } from '../../src/cli/commands/incidents.js';
import type { World } from '../../src/domain/world.js';
import { commandKey, renderIncident, similarIncidents } from '../../src/incidents/render.js';
import { IncidentStore, incidentId, isIncidentId } from '../../src/incidents/store.js';
import type { IncidentRecord } from '../../src/incidents/types.js';
import { memoryLogger } from '../../src/logging/logger.js';

const GiB = 1024 ** 3;
const dir = mkdtempSync(join(tmpdir(), 'headroom-incidents-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function record(at: string, pid: number, cmd: string, over: Partial<IncidentRecord> = {}): IncidentRecord {
  const cmdline = cmd.split(' ');
  return {
    id: incidentId(new Date(at), `pid${pid}`),
    host: 'ml-box',
    source: 'receiver',
    alertName: 'HeadroomProcessTreeCritical',
    action: 'stop_process_tree',
    dryRun: false,
    result: 'success',
    reason: `PID ${pid} holds 63 GiB`,
    detail: 'SIGTERM to 1 processes, all exited within the grace period; all gone',
    target: { process: { pid, startTime: '1765500000.00', comm: 'python3', cmdline: cmd, residentBytes: 63 * GiB, treeResidentBytes: 63 * GiB, treeProcesses: 1, runtimeSeconds: 11520, cpuSeconds: 11400, cgroup: '/user.slice' } },
    commandKey: commandKey('python3', cmdline),
    timeline: { firstWarning: new Date(Date.parse(at) - 600_000).toISOString(), critical: new Date(Date.parse(at) - 60_000).toISOString(), action: at, recovery: new Date(Date.parse(at) + 5_000).toISOString() },
    memoryBefore: { totalBytes: 62 * GiB, availableBytes: 0.85 * GiB, usedRatio: 0.986, swapTotalBytes: 15 * GiB, swapUsedBytes: 8.9 * GiB, scope: 'host' },
    memoryAfter: { totalBytes: 62 * GiB, availableBytes: 61 * GiB, usedRatio: 0.016, swapTotalBytes: 15 * GiB, swapUsedBytes: 2.7 * GiB, scope: 'host' },
    actionBefore: { processes: 1, tree_resident_bytes: 63 * GiB },
    actionAfter: { processes: 0, tree_resident_bytes: 0 },
    freedBytes: 63 * GiB,
    timeToResolutionSeconds: 65,
    ...over,
  };
}

describe('incident reports', () => {
  it('derives the command key used for recurring patterns', () => {
    expect(commandKey('python3', ['/usr/bin/python3', '-u', 'pipelines/training/parallel_feature_testing.py', 'single'])).toBe('python3 parallel_feature_testing.py');
    expect(commandKey('sleep', [])).toBe('sleep');
  });

  it('renders summary, timeline, root cause, before/after, time to resolution and the recurring pattern', () => {
    const cmd = 'python3 pipelines/training/parallel_feature_testing.py single audusd';
    const earlier = [
      record('2025-12-11T21:10:00Z', 1001, cmd),
      record('2025-12-06T10:00:00Z', 1002, cmd),
      record('2025-12-01T10:00:00Z', 1003, cmd), // older than 7 d
      record('2025-12-12T01:00:00Z', 1004, 'python3 other.py', { target: { cgroup: '/system.slice/x.service' } }),
    ];
    const rec = record('2025-12-12T03:13:00Z', 449948, cmd);
    expect(similarIncidents(rec, earlier).map((e) => e.target.process?.pid)).toEqual([1001, 1002, 1003]);
    const md = renderIncident(rec, earlier);
    expect(md).toContain('# Incident 20251212T031300Z-pid449948');
    expect(md).toMatch(/\| Memory used \| 61\.1 GiB \(99%\) \| 1\.0 GiB \(2%\) \|/);
    expect(md).toMatch(/\| Available \| 870 MiB \| 61\.0 GiB \|/);
    expect(md).toMatch(/\| Runtime \| 3 h 12 m \|/);
    expect(md).toContain('**Time to resolution**: 1 m 5 s');
    expect(md).toMatch(/\*\*1\*\* earlier in the last 24 h, \*\*2\*\* in the last 7 d/);
    expect(md).toContain('| First warning | 2025-12-12 03:03:00 UTC |');
  });

  it('stores reports with unique ids, lists and shows them; `headroom incidents` prints them', async () => {
    const store = new IncidentStore(join(dir, 'incidents'));
    const a = store.save(record('2025-12-12T03:13:00Z', 449948, 'python3 train.py'));
    const b = store.save(record('2025-12-12T03:13:00Z', 449948, 'python3 train.py'));
    expect(b.record.id).toBe(`${a.record.id}-2`);
    expect(store.list().map((r) => r.id)).toEqual([a.record.id, b.record.id]);
    expect(store.show(b.record.id)).toContain('**1** earlier in the last 24 h');
    expect(store.show('../../etc/passwd')).toBeUndefined();
    expect(isIncidentId('../x')).toBe(false);

    const out = new PassThrough();
    let text = '';
    out.on('data', (c: Buffer) => (text += c.toString()));
    const world = { stdout: out, stderr: out, env: {}, logger: memoryLogger(), now: () => new Date(), monotonic: () => 0, pid: 1, ppid: 0, version: 't', stopSignal: new Promise<NodeJS.Signals>(() => undefined) } satisfies World;
    const run = async (...args: string[]) => {
      const program = new Command('headroom').exitOverride();
      registerIncidents(program, world);
      program.commands.forEach((c) => c.exitOverride());
      await program.parseAsync(['node', 'headroom', ...args]);
    };
    await run('incidents', '--state-dir', dir);
    expect(text).toContain(`${a.record.id}  2025-12-12 03:13:00  stop_process_tree success freed 63.0 GiB  PID 449948 python3 train.py`);
    text = '';
    await run('incidents', 'show', a.record.id, '--state-dir', dir);
    expect(text).toContain(`# Incident ${a.record.id}`);
    await expect(run('incidents', 'show', 'nope', '--state-dir', dir)).rejects.toThrow(/no incident nope/);
  });
});
