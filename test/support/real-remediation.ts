import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { runWithTimeout } from '../../src/agent/system.js';
import { parseConfig } from '../../src/config/load.js';
import { memoryLogger } from '../../src/logging/logger.js';
import { CgroupFs } from '../../src/procfs/cgroupfs.js';
import { ProcessTable } from '../../src/procfs/process-table.js';
import { NodeTreeFs } from '../../src/procfs/tree-fs.js';
import type { GrowthSource } from '../../src/remediation/growth-source.js';
import { createRemediation } from '../../src/remediation/setup.js';
import { LiveSnapshotReader, type SnapshotReader } from '../../src/remediation/snapshot.js';
import { files, memorySink, proc } from '../receiver/harness.js';

/**
 * The real remediation (createRemediation over the real /proc and cgroupfs) as the tests that start real
 * processes use it: the state in a fresh temp directory, every signal checked against the PIDs the test started
 * (defence in depth: a test must only ever signal its own processes), and writes refused except to the files
 * the test allows.
 */

/**
 * The guard's view restricted to processes the test started: ranking can only ever pick them. Memory reads as
 * 99.5 % used while any of them is alive, and as it really is once they are gone.
 */
export function restrictedReader(mine: () => ReadonlySet<number>): SnapshotReader {
  const live = new LiveSnapshotReader(proc, new CgroupFs('/sys/fs/cgroup', files), files, { pid: process.pid, ppid: process.ppid }, () => new Date());
  return {
    read: (req) => {
      const s = live.read(req);
      const owned = mine();
      const entries = s.processes.entries.filter((e) => owned.has(e.pid));
      const pressure = entries.some((e) => e.state !== 'Z');
      const memory = pressure ? { ...s.memory, availableBytes: Math.round(s.memory.totalBytes * 0.005), usedRatio: 0.995 } : s.memory;
      return { ...s, processes: new ProcessTable(entries), memory };
    },
  };
}

export interface RealRemediationOptions {
  /** Prefix of the state directory's name (the caller removes `dir` when done). */
  readonly prefix: string;
  /** Merged over the baseline (min_victim_size 1K, kill_grace 2s, recovered below 99 %); `recovered` key by key. */
  readonly remediation?: Readonly<Record<string, unknown>>;
  /** The whole config besides `remediation`, instead of the default (host_memory_critical 0.995). */
  readonly config?: Readonly<Record<string, unknown>>;
  /** The PIDs the test started: signalling any other throws (and is recorded). Absent: nothing may be signalled. */
  readonly mayTouch?: (pid: number) => boolean;
  /** Restrict the snapshot to these PIDs, at 99.5 % used while they live (restrictedReader). Absent: the real view. */
  readonly restrictTo?: () => ReadonlySet<number>;
  /** Files the remediation may write (e.g. the test's own cgroup's control files). Absent: no writes. */
  readonly mayWrite?: (path: string) => boolean;
  /** Evidence capture with the real SIGSTOP/SIGCONT (checked like every signal) and tool runner; py-spy lookup. */
  readonly evidence?: { readonly pySpy: () => string | undefined };
  /** stat(2) for tree walks (tmpfs analysis, evidence): on unless false. */
  readonly treeFs?: boolean;
  /** The agent's short history (Growth sections, growth in warnings). */
  readonly growth?: GrowthSource;
}

export function realRemediation(o: RealRemediationOptions) {
  const dir = mkdtempSync(join(tmpdir(), `${o.prefix}-state-`));
  const sink = memorySink();
  const logger = memoryLogger();
  const signals: Array<{ pid: number; signal: string }> = [];
  const writes: string[] = [];
  const checked = (pid: number, signal: string): void => {
    signals.push({ pid, signal });
    if (o.mayTouch === undefined || !o.mayTouch(pid)) throw new Error(`test safety: PID ${pid} not started by this test (${signal})`);
  };
  const base = { state_dir: dir, min_victim_size: '1K', kill_grace: '2s', recovered: { host_used_below: 0.99 } };
  const extra = o.remediation ?? {};
  const remediation = { ...base, ...extra, recovered: { ...base.recovered, ...((extra.recovered as Record<string, unknown> | undefined) ?? {}) } };
  const r = createRemediation({
    config: parseConfig({ ...(o.config ?? { thresholds: { host_memory_critical: 0.995 } }), remediation }, 'test'),
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
      checked(pid, signal);
      process.kill(pid, signal);
    },
    writeFile: (path, text) => {
      if (o.mayWrite === undefined || !o.mayWrite(path)) throw new Error(`unexpected write ${path}`);
      writes.push(`${path}=${text}`);
      writeFileSync(path, text);
    },
    sink,
    logger,
    registry: new Registry(),
    ...(o.restrictTo !== undefined ? { snapshots: restrictedReader(o.restrictTo) } : {}),
    ...(o.treeFs !== false ? { treeFs: new NodeTreeFs() } : {}),
    ...(o.growth !== undefined ? { growth: o.growth } : {}),
    ...(o.evidence !== undefined
      ? {
          evidenceIo: {
            pause: (pid: number, signal: 'SIGSTOP' | 'SIGCONT') => {
              checked(pid, signal);
              process.kill(pid, signal);
            },
            runTool: runWithTimeout,
            pySpy: o.evidence.pySpy,
          },
        }
      : {}),
  });
  return { r, dir, sink, logger, signals, writes };
}
