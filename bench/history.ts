/**
 * The growth history's memory (issue #11), run by `npm run bench` (bench/scrape.ts) in each round while its
 * idle processes run: `node --expose-gc --import tsx bench/history.ts`. Prints one JSON line.
 *
 * Fills a ShortHistory at the shipped defaults (15 min window, host every 1 s, trees and jobs every 15 s,
 * K = 10) over its full window with a stepped clock — host samples from the real /proc/meminfo and pressure,
 * tree samples from real scans of every process of /proc (the agent's sampler, src/history/sampler.ts) — and
 * measures the JS heap it retains (heapUsed after full GCs, after − before). A second history is filled with
 * the worst case the caps allow (every string longer than its cap, two-byte characters; 10 000 trees and 1 000
 * job cgroups per sample) to check the bound is not merely unreached. Both are compared to boundBytes().
 */
import { performance } from 'node:perf_hooks';
import { sampleHost, sampleTrees, type SamplerIo } from '../src/history/sampler.js';
import { DEFAULT_HISTORY, ShortHistory, type TreeSampleEntry } from '../src/history/history.js';
import { CgroupFs } from '../src/procfs/cgroupfs.js';
import { NodeFileReader } from '../src/procfs/file-reader.js';
import { ProcFs } from '../src/procfs/procfs.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');
const fullGc = (): void => {
  for (let i = 0; i < 3; i++) gc();
};

function fill(feed: (h: ShortHistory, step: number) => void): { history: ShortHistory; retainedBytes: number } {
  let t = 1_800_000_000_000;
  fullGc();
  const before = process.memoryUsage().heapUsed;
  const history = new ShortHistory({ now: () => t });
  const steps = DEFAULT_HISTORY.windowMs / DEFAULT_HISTORY.hostIntervalMs + 1;
  for (let i = 0; i < steps; i++) {
    feed(history, i);
    t += DEFAULT_HISTORY.hostIntervalMs;
  }
  t -= DEFAULT_HISTORY.hostIntervalMs; // the last sample is "now": the whole window is held
  fullGc();
  const retainedBytes = process.memoryUsage().heapUsed - before;
  return { history, retainedBytes };
}

const files = new NodeFileReader();
const io: SamplerIo = { proc: new ProcFs('/proc', files), cgroups: new CgroupFs('/sys/fs/cgroup', files), files, runCgroupParent: '/headroom.slice', passwdPath: '/etc/passwd', now: () => Date.now() };
const treeEvery = DEFAULT_HISTORY.treeIntervalMs / DEFAULT_HISTORY.hostIntervalMs;
// One warm-up of each sampler, so module-level caches and code are not counted as the history's.
sampleHost(new ShortHistory({ now: () => 0 }), io);
sampleTrees(new ShortHistory({ now: () => 0 }), io);

const scanMs: number[] = [];
const real = fill((h, i) => {
  sampleHost(h, io);
  if (i % treeEvery === 0) {
    const s = performance.now();
    sampleTrees(h, io);
    scanMs.push(performance.now() - s);
  }
});

const long = (n: number, salt: number): string => `${'Ωж'.repeat(Math.ceil(n / 2))}${salt}`.slice(0, n + 8);
const worst = fill((h, i) => {
  h.recordHost({ totalBytes: 64 * 2 ** 30 + i, availableBytes: 2 ** 30 + i * 0.5, swapTotalBytes: 2 ** 33 + 0.5, swapUsedBytes: i + 0.25, psiSome10: 0.1 + i / 1e6, psiFull10: 0.05 + i / 1e6 });
  if (i % treeEvery !== 0) return;
  const trees: TreeSampleEntry[] = Array.from({ length: 10_000 }, (_, k) => ({
    key: long(200, k + i),
    pid: k + 2,
    startTimeSeconds: 1_700_000_000.25 + k,
    comm: long(100, k),
    user: long(100, k),
    cmdline: long(2000, k + i),
    cgroup: long(1000, k + i),
    residentBytes: 2 ** 31 + k * 4097.5 + i,
    processes: k + 1,
  }));
  h.recordTrees(trees);
  h.recordJobs(Array.from({ length: 1000 }, (_, k) => ({ path: long(1000, k + i), usageBytes: 2 ** 30 + k + 0.5, limitBytes: 2 ** 32 + 0.5, highBytes: 2 ** 31 + 0.5 })));
});

const c = real.history.capacity();
const sorted = [...scanMs].sort((a, b) => a - b);
process.stdout.write(
  `${JSON.stringify({
    processes: io.proc.pids().length,
    capacity: c,
    held: { hostPoints: real.history.host().length, treeFrames: real.history.trees()[0]?.series.length ?? 0, worstTreeFrames: worst.history.trees()[0]?.series.length ?? 0 },
    boundBytes: real.history.boundBytes(),
    realBytes: real.retainedBytes,
    worstBytes: worst.retainedBytes,
    treeScanMedianMs: sorted[Math.floor(sorted.length / 2)] ?? null,
  })}\n`,
);
