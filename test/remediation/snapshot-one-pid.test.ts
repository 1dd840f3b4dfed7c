import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { yieldToLoop } from '../../src/agent/system.js';
import { parseConfig } from '../../src/config/load.js';
import { policySettings } from '../../src/policy/settings.js';
import { CgroupFs } from '../../src/procfs/cgroupfs.js';
import { NodeFileReader } from '../../src/procfs/file-reader.js';
import { scanProcesses, startTimeLabel } from '../../src/procfs/process-table.js';
import { ProcFs } from '../../src/procfs/procfs.js';
import { LiveSnapshotReader, SnapshotCache, yieldingReader, type SnapshotReader } from '../../src/remediation/snapshot.js';
import { questionFor, snapshotAndDecide } from '../../src/remediation/stages/decide.js';
import type { CriticalTrigger } from '../../src/remediation/trigger.js';

/** The live reader's one-PID read on the real /proc, and the refusal it confirms without a full scan. */
const files = new NodeFileReader();
const proc = new ProcFs('/proc', files);
const live = new LiveSnapshotReader(proc, new CgroupFs('/sys/fs/cgroup', files), files, { pid: process.pid, ppid: process.ppid }, () => new Date());
const settings = policySettings(parseConfig({}, 'test').remediation);

describe('a refused alert for a process that has exited, on the real /proc', () => {
  it('readProcesses reads just the named PIDs, as a full scan sees them', () => {
    const boot = proc.stat().bootTimeSeconds;
    const full = scanProcesses(proc, boot, () => undefined).byPid.get(process.pid);
    const one = yieldingReader(live, yieldToLoop).readProcesses?.([process.pid]);
    expect(one?.byPid.size).toBe(1);
    expect(one?.byPid.get(process.pid)?.startTimeSeconds).toBe(full?.startTimeSeconds);
  });

  it('is confirmed gone from its one PID: the shared snapshot is not read again', async () => {
    const child = spawn('sleep', ['0.01'], { stdio: 'ignore' });
    const pid = child.pid;
    if (pid === undefined) throw new Error('spawn failed');
    const entry = scanProcesses(proc, proc.stat().bootTimeSeconds, () => undefined, [pid]).byPid.get(pid);
    await once(child, 'exit'); // reaped: the PID is gone from /proc (a new process could take it: then pid_reused)
    const startTime = entry ? startTimeLabel(entry) : '0.00';
    const trigger: CriticalTrigger = {
      kind: 'critical',
      source: 'receiver',
      key: `gone-${pid}`,
      alertName: 'HeadroomProcessMemoryCritical',
      target: { ok: true, target: { kind: 'process', pid, startTime } },
      startsAt: new Date(),
      fingerprint: `gone-${pid}`,
    };
    const q = questionFor(trigger);
    if (q === undefined) throw new Error('no question');
    let fullReads = 0;
    const inner = yieldingReader(live, yieldToLoop);
    const counting: SnapshotReader = {
      read: (req) => {
        fullReads += 1;
        return inner.read(req);
      },
      readProcesses: (pids) => inner.readProcesses?.(pids) ?? live.readProcesses(pids),
    };
    const cache = new SnapshotCache(counting, 60_000, () => 0);
    await cache.get(q.snapshot); // the batch's shared read
    for (let i = 0; i < 3; i++) {
      const d = await snapshotAndDecide(q, cache, settings);
      if (d.decision.kind !== 'refusal') throw new Error(`expected a refusal, got ${d.decision.kind}`);
      expect(['target_gone', 'pid_reused']).toContain(d.decision.reasonCode);
    }
    expect(fullReads).toBe(1);
  });
});
