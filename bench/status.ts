/**
 * `npm run bench:status`: how fast `headroom status` starts and how little it allocates at N processes.
 *
 * Starts idle processes (bench/lib/idle_children.py, stopped by PID in a finally block) until the machine has
 * at least N (default 6000), then measures:
 *  - the CLI as a user runs it: `node dist/cli/main.js status --json`, wall time (median, max of R runs) and
 *    peak RSS of that process (/usr/bin/time %M);
 *  - one collectStatus() in this process (after one warm-up): wall time, and the JS heap allocated by it
 *    (heapUsed after − before plus what GCs during the call freed, from v8.GCProfiler).
 *
 *   npm run bench:status                     # 6000 processes, 7 runs
 *   npm run bench:status -- --processes 2000 --runs 3
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { GCProfiler } from 'node:v8';
import { IdleChildren } from './lib/children.js';
import { HEADROOM_MAIN } from './lib/headroom.js';
import { allPids } from './lib/proc.js';
import { CgroupFs } from '../src/procfs/cgroupfs.js';
import { NodeFileReader } from '../src/procfs/file-reader.js';
import { ProcFs } from '../src/procfs/procfs.js';
import { collectStatus, type StatusSources } from '../src/status/collect.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} must be a positive integer`);
  return v;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

async function main(): Promise<void> {
  const target = arg('processes', 6000);
  const runs = arg('runs', 7);
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with node --expose-gc (npm run bench:status does)');
  const dir = mkdtempSync(join(tmpdir(), `headroom-people-bench-status-${process.pid}-`));
  const need = Math.max(0, target - allPids().length);
  let idle: IdleChildren | undefined;
  const stop = async (): Promise<void> => {
    const r = await idle?.stop();
    if (r && r.survivors > 0) console.error(`WARNING: ${r.survivors} idle children survived`);
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void stop().then(() => process.exit(130)));
  try {
    if (need > 0) {
      console.log(`starting ${need} idle processes…`);
      idle = await IdleChildren.start(need, process.env.HEADROOM_BENCH_PYTHON ?? 'python3', 300_000, (i) => {
        idle = i;
      });
    }
    const processes = allPids().length;
    console.log(`processes on this machine now: ${processes}`);

    const walls: number[] = [];
    const rss: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      const r = spawnSync('/usr/bin/time', ['-f', 'TIME %e %M', process.execPath, HEADROOM_MAIN, 'status', '--json', '--state-dir', dir, '--sample-file', join(dir, 's.json')], { encoding: 'utf8' });
      walls.push(performance.now() - t0);
      if (r.status !== 0) throw new Error(`headroom status failed: ${r.stderr}`);
      const m = /TIME [\d.]+ (\d+)/.exec(r.stderr);
      if (m) rss.push(Number(m[1]) / 1024);
      const s = JSON.parse(r.stdout) as { processCount: number };
      if (i === 0) console.log(`status saw ${s.processCount} processes`);
    }
    const base: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      spawnSync(process.execPath, [HEADROOM_MAIN, '--version'], { encoding: 'utf8' });
      base.push(performance.now() - t0);
    }
    console.log(`CLI \`headroom --version\` (start-up floor of every command): wall median ${median(base).toFixed(0)} ms`);
    console.log(`CLI \`headroom status --json\`: wall median ${median(walls).toFixed(0)} ms, max ${Math.max(...walls).toFixed(0)} ms; peak RSS median ${median(rss).toFixed(1)} MiB (${runs} runs)`);

    const files = new NodeFileReader();
    const src: StatusSources = {
      proc: new ProcFs('/proc', files),
      cgroups: new CgroupFs('/sys/fs/cgroup', files),
      files,
      now: () => new Date(),
      hostname: hostname(),
      stateDir: dir,
      runCgroupParent: '/headroom.slice',
      passwdPath: '/etc/passwd',
      thresholds: { warning: 0.8, critical: 0.95 },
    };
    let previous = collectStatus(src, undefined).sample;
    const times: number[] = [];
    const allocated: number[] = [];
    const gcCounts: number[] = [];
    for (let i = 0; i < runs; i++) {
      gc();
      const profiler = new GCProfiler();
      profiler.start();
      const before = process.memoryUsage().heapUsed;
      const t0 = performance.now();
      const out = collectStatus(src, previous);
      times.push(performance.now() - t0);
      const after = process.memoryUsage().heapUsed;
      const stats = profiler.stop()?.statistics ?? [];
      // Allocated = what is still there + what the GCs during the call freed.
      const freed = stats.reduce((sum, st) => sum + (st.beforeGC.heapStatistics.usedHeapSize - st.afterGC.heapStatistics.usedHeapSize), 0);
      allocated.push((after - before + freed) / 2 ** 20);
      gcCounts.push(stats.length);
      previous = out.sample;
    }
    console.log(
      `collectStatus() in process: median ${median(times).toFixed(1)} ms, max ${Math.max(...times).toFixed(1)} ms; JS heap allocated per call median ${median(allocated).toFixed(2)} MiB (incl. what ${gcCounts.join(',')} GCs during the calls freed)`,
    );
  } finally {
    await stop();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
});
