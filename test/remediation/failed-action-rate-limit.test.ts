import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import type { Action } from '../../src/actions/action.js';
import { ACTIONS } from '../../src/actions/index.js';
import { parseConfig } from '../../src/config/load.js';
import { memoryLogger } from '../../src/logging/logger.js';
import { CgroupFs } from '../../src/procfs/cgroupfs.js';
import type { Snapshot } from '../../src/policy/types.js';
import { ProcessTable, type ProcessEntry } from '../../src/procfs/process-table.js';
import { guardTrigger } from '../../src/remediation/pipeline.js';
import { createRemediation } from '../../src/remediation/setup.js';
import { files, memorySink, proc } from '../receiver/harness.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const GiB = 1024 ** 3;

/** A machine (no I/O) at 99.5 % with one big job: the guard always picks PID 4242. */
function snapshot(at: Date): Snapshot {
  const job: ProcessEntry = {
    pid: 4242, ppid: 1, pgrp: 4242, session: 4242, comm: 'python3', state: 'R', isKernelThread: false,
    residentBytes: 8 * GiB, virtualBytes: 9 * GiB, cpuSeconds: 100, startTicks: 1000, startTimeSeconds: 1_700_000_010,
  };
  return {
    at,
    memory: { totalBytes: 16 * GiB, availableBytes: 0.005 * 16 * GiB, usedRatio: 0.995, scope: 'host' },
    hostMemTotalBytes: 16 * GiB,
    processes: new ProcessTable([job]),
    details: { get: (pid) => (pid === 4242 ? { cmdline: ['python3', 'train.py'], oomScoreAdj: 0, uid: 1000 } : undefined) },
    self: { pid: 1, ppid: 0 },
  };
}

describe('a failing action still counts against the rate limit (issue 10, defect 2)', () => {
  it('after a thrown stop_process_tree, the next receiver alert is refused by the cooldown, and the failure is counted', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'headroom-core-ratelimit-'));
    dirs.push(dir);
    let clock = Date.parse('2025-12-12T03:00:00Z');
    let runs = 0;
    const failing: Action = {
      name: 'stop_process_tree',
      run: () => {
        runs += 1;
        return Promise.reject(new Error('EPERM: kill 4242'));
      },
    };
    const r = createRemediation({
      config: parseConfig({ remediation: { state_dir: dir, min_victim_size: '1K', cooldown: '2m', actions_per_window: 3, window: '1h' } }, 'test'),
      proc,
      cgroups: new CgroupFs(join(dir, 'no-cgroupfs'), files),
      files,
      self: { pid: 1, ppid: 0 },
      host: 'test-host',
      actionsEnabled: true,
      now: () => new Date(clock),
      monotonic: () => clock / 1000,
      sleep: () => Promise.resolve(),
      kill: () => {
        throw new Error('test: nothing may be signalled');
      },
      writeFile: () => {
        throw new Error('test: nothing may be written');
      },
      sink: memorySink(),
      logger: memoryLogger(),
      registry: new Registry(),
      snapshots: { read: () => snapshot(new Date(clock)) },
      actions: { ...ACTIONS, stop_process_tree: failing },
    });
    try {
      const first = await r.pipeline.handle(guardTrigger({ at: new Date(clock) }));
      expect(runs).toBe(1);
      // The guard's incident ends with the failure (the agent's guard then holds until memory clears, issue 14).
      expect(first).toMatchObject({ kind: 'refusal', reasonCode: 'action_failed', incident: { open: false, closedBecause: 'action_failed' } });
      expect(r.state.actionTimes()).toHaveLength(1);
      clock += 10_000; // a new alert 10 s later, well within the 2 min cooldown of the Alertmanager path
      const second = await r.pipeline.handle({
        kind: 'critical',
        source: 'receiver',
        key: 'fp-host|later',
        alertName: 'HeadroomHostMemoryHigh',
        target: { ok: true, target: { kind: 'host' } },
        startsAt: new Date(clock),
      });
      expect(second).toMatchObject({ kind: 'refusal', reasonCode: 'cooldown' });
      expect(runs).toBe(1);
    } finally {
      r.close();
    }
  });
});
