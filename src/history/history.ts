import { RingBuffer } from './ring.js';

/**
 * The agent's short memory: host memory, swap and PSI, and the largest process trees and job cgroups, over
 * the last few minutes. Pure: it is fed from outside (the agent's sampler, a test, an incident replay) and
 * reads time only from the injected clock. Bounded whatever the process count:
 *
 *   host points  ≤ ceil(window / hostInterval) + 1       (15 min at 1 s: 901 points of 6 numbers)
 *   tree frames  ≤ ceil(window / treeInterval) + 1, each ≤ topK trees (15 min at 15 s, K = 10: 610 entries)
 *   job frames   the same bound as tree frames
 *   labels       one per tree key present in some frame (≤ frames × K)
 *
 * Samples arriving faster than the intervals only shorten the time covered; memory never grows past these.
 * Strings are cut when recorded (MAX_CHARS), so each entry has a size bound too, and the whole history stays
 * within boundBytes(): at the defaults (15 min, 1 s, 15 s, K = 10) 901 × 256 B + 61 × (10 × 2 KiB + 128 B)
 * + 61 × (10 × 1 KiB + 128 B) = 2 120 192 B ≈ 2.0 MiB of JS heap, whatever the process count
 * (measured by `npm run bench` at 6 000 processes, docs/benchmarks.md).
 */
export interface HistoryOptions {
  /** How far back the history reaches (default 15 min). */
  readonly windowMs: number;
  /** Expected spacing of host samples (sizes the ring; default 1 s, the guard's max_interval). */
  readonly hostIntervalMs: number;
  /** Expected spacing of tree/job samples (sizes the rings; default 15 s, a scrape interval). */
  readonly treeIntervalMs: number;
  /** Trees and job cgroups kept per frame, largest first (default 10). */
  readonly topK: number;
  /** Epoch milliseconds. */
  readonly now: () => number;
}

export interface HostSample {
  readonly totalBytes: number;
  readonly availableBytes: number;
  readonly swapTotalBytes?: number;
  readonly swapUsedBytes?: number;
  /** PSI memory avg10 as shares (0–1). */
  readonly psiSome10?: number;
  readonly psiFull10?: number;
}

export interface HostPoint extends HostSample {
  readonly atMs: number;
}

/** What identifies a tree across samples and how to show it (from the sampler; shown escaped). */
export interface TreeLabels {
  readonly pid: number;
  /** Epoch seconds (runtime = now − start). */
  readonly startTimeSeconds: number;
  readonly comm: string;
  readonly user?: string;
  readonly cmdline?: string;
  readonly cgroup?: string;
}

export interface TreeSampleEntry extends TreeLabels {
  /** pid + start time: stable across samples, distinct after PID reuse. */
  readonly key: string;
  readonly residentBytes: number;
  readonly processes: number;
}

export interface JobSampleEntry {
  readonly path: string;
  readonly usageBytes: number;
  readonly limitBytes?: number;
  readonly highBytes?: number;
}

interface Frame<T> {
  readonly atMs: number;
  readonly entries: readonly T[];
}

export interface SeriesPoint {
  readonly atMs: number;
  readonly value: number;
}

export interface TreeView extends TreeSampleEntry {
  /** Bytes per second over the history (least squares); undefined with fewer than two points. */
  readonly growthBytesPerSecond?: number;
  readonly series: readonly SeriesPoint[];
}

export interface JobView extends JobSampleEntry {
  readonly growthBytesPerSecond?: number;
  readonly series: readonly SeriesPoint[];
}

/** Longest strings kept (longer ones are cut when recorded): what makes an entry's size bounded. */
export const MAX_CHARS = { key: 64, comm: 64, user: 64, cmdline: 300, cgroup: 256, jobPath: 256 } as const;
/**
 * Heap bytes one element may take at most, its strings at their caps (two bytes per character) — the basis of
 * boundBytes(): a host point (object of 7 numbers) ≤ 256 B; a tree entry (9 fields, strings ≤ 64 + 64 + 64 +
 * 300 + 256 characters) ≤ 2 KiB; a job entry (path ≤ 256 characters, 3 numbers) ≤ 1 KiB; a frame (object and
 * entries array) ≤ 128 B besides its entries.
 */
export const BOUND_BYTES = { hostPoint: 256, treeEntry: 2048, jobEntry: 1024, frame: 128 } as const;

/**
 * The first `max` characters as a fresh flat string: V8 may keep a slice as a view of its parent (a whole
 * /proc/PID/cmdline, a long path), which would hold far more than the slice; join() builds a new string.
 */
const cut = (s: string, max: number): string => [...(s.length > max ? s.slice(0, max) : s)].join('');

export const DEFAULT_HISTORY: Omit<HistoryOptions, 'now'> = { windowMs: 15 * 60_000, hostIntervalMs: 1000, treeIntervalMs: 15_000, topK: 10 };

/** Least-squares slope of value over time, per second; undefined with fewer than two distinct times. */
export function slopePerSecond(points: readonly SeriesPoint[]): number | undefined {
  if (points.length < 2) return undefined;
  const t0 = points[0]?.atMs ?? 0;
  let n = 0;
  let sx = 0;
  let sy = 0;
  let sxx = 0;
  let sxy = 0;
  for (const p of points) {
    const x = (p.atMs - t0) / 1000;
    n += 1;
    sx += x;
    sy += p.value;
    sxx += x * x;
    sxy += x * p.value;
  }
  const d = n * sxx - sx * sx;
  return d === 0 ? undefined : (n * sxy - sx * sy) / d;
}

export class ShortHistory {
  readonly options: HistoryOptions;
  private readonly hostRing: RingBuffer<HostPoint>;
  private readonly treeRing: RingBuffer<Frame<TreeSampleEntry>>;
  private readonly jobRing: RingBuffer<Frame<JobSampleEntry>>;

  constructor(options: Partial<HistoryOptions> & Pick<HistoryOptions, 'now'>) {
    this.options = { ...DEFAULT_HISTORY, ...options };
    const o = this.options;
    for (const [k, v] of Object.entries({ windowMs: o.windowMs, hostIntervalMs: o.hostIntervalMs, treeIntervalMs: o.treeIntervalMs, topK: o.topK })) {
      if (!(Number.isFinite(v) && v > 0)) throw new RangeError(`history ${k} must be above 0, got ${v}`);
    }
    this.hostRing = new RingBuffer(Math.ceil(o.windowMs / o.hostIntervalMs) + 1);
    const frames = Math.ceil(o.windowMs / o.treeIntervalMs) + 1;
    this.treeRing = new RingBuffer(frames);
    this.jobRing = new RingBuffer(frames);
  }

  /** The most entries this history can hold, whatever it is fed (the bound stated above). */
  capacity(): { hostPoints: number; treeFrames: number; jobFrames: number; entriesPerFrame: number } {
    return { hostPoints: this.hostRing.capacity, treeFrames: this.treeRing.capacity, jobFrames: this.jobRing.capacity, entriesPerFrame: this.options.topK };
  }

  /** The most heap bytes this history holds when full (see BOUND_BYTES): the stated bound. */
  boundBytes(): number {
    const c = this.capacity();
    return c.hostPoints * BOUND_BYTES.hostPoint + c.treeFrames * (c.entriesPerFrame * BOUND_BYTES.treeEntry + BOUND_BYTES.frame) + c.jobFrames * (c.entriesPerFrame * BOUND_BYTES.jobEntry + BOUND_BYTES.frame);
  }

  recordHost(sample: HostSample): void {
    this.hostRing.push({ ...sample, atMs: this.options.now() });
  }

  /** Keeps the topK largest of `trees` (any number may be given; only K are copied). */
  recordTrees(trees: Iterable<TreeSampleEntry>): void {
    const entries = topK(trees, this.options.topK, (t) => t.residentBytes).map(
      (t): TreeSampleEntry => ({
        key: cut(t.key, MAX_CHARS.key),
        pid: t.pid,
        startTimeSeconds: t.startTimeSeconds,
        comm: cut(t.comm, MAX_CHARS.comm),
        ...(t.user !== undefined ? { user: cut(t.user, MAX_CHARS.user) } : {}),
        ...(t.cmdline !== undefined ? { cmdline: cut(t.cmdline, MAX_CHARS.cmdline) } : {}),
        ...(t.cgroup !== undefined ? { cgroup: cut(t.cgroup, MAX_CHARS.cgroup) } : {}),
        residentBytes: t.residentBytes,
        processes: t.processes,
      }),
    );
    this.treeRing.push({ atMs: this.options.now(), entries });
  }

  recordJobs(jobs: Iterable<JobSampleEntry>): void {
    const entries = topK(jobs, this.options.topK, (j) => j.usageBytes).map(
      (j): JobSampleEntry => ({
        path: cut(j.path, MAX_CHARS.jobPath),
        usageBytes: j.usageBytes,
        ...(j.limitBytes !== undefined ? { limitBytes: j.limitBytes } : {}),
        ...(j.highBytes !== undefined ? { highBytes: j.highBytes } : {}),
      }),
    );
    this.jobRing.push({ atMs: this.options.now(), entries });
  }

  private prune(): number {
    const cutoff = this.options.now() - this.options.windowMs;
    const old = (x: { atMs: number }): boolean => x.atMs < cutoff;
    this.hostRing.dropWhile(old);
    this.treeRing.dropWhile(old);
    this.jobRing.dropWhile(old);
    return cutoff;
  }

  /** Host points within the window, oldest first. */
  host(): HostPoint[] {
    this.prune();
    return this.hostRing.toArray();
  }

  lastHost(): HostPoint | undefined {
    this.prune();
    return this.hostRing.last();
  }

  /** One tree's resident bytes over the window (only where it was in the top K). */
  treeSeries(key: string): SeriesPoint[] {
    this.prune();
    const out: SeriesPoint[] = [];
    for (const f of this.treeRing.toArray()) {
      const e = f.entries.find((t) => t.key === key);
      if (e) out.push({ atMs: f.atMs, value: e.residentBytes });
    }
    return out;
  }

  /** Growth of one tree in bytes per second over the last `overMs` (default: the whole window). */
  treeGrowth(key: string, overMs = this.options.windowMs): number | undefined {
    const since = this.options.now() - overMs;
    return slopePerSecond(this.treeSeries(key).filter((p) => p.atMs >= since));
  }

  /** The trees of the latest frame, largest first, each with its series and growth rate. */
  trees(): TreeView[] {
    this.prune();
    const frames = this.treeRing.toArray();
    const latest = frames[frames.length - 1];
    if (latest === undefined) return [];
    return latest.entries.map((e) => {
      const series: SeriesPoint[] = [];
      for (const f of frames) {
        const x = f.entries.find((t) => t.key === e.key);
        if (x) series.push({ atMs: f.atMs, value: x.residentBytes });
      }
      const g = slopePerSecond(series);
      return { ...e, series, ...(g !== undefined ? { growthBytesPerSecond: g } : {}) };
    });
  }

  /** The job cgroups of the latest frame, largest first, with series and growth. */
  jobs(): JobView[] {
    this.prune();
    const frames = this.jobRing.toArray();
    const latest = frames[frames.length - 1];
    if (latest === undefined) return [];
    return latest.entries.map((e) => {
      const series: SeriesPoint[] = [];
      for (const f of frames) {
        const x = f.entries.find((j) => j.path === e.path);
        if (x) series.push({ atMs: f.atMs, value: x.usageBytes });
      }
      const g = slopePerSecond(series);
      return { ...e, series, ...(g !== undefined ? { growthBytesPerSecond: g } : {}) };
    });
  }

  /** When the latest tree frame was taken. */
  treesAt(): number | undefined {
    return this.treeRing.last()?.atMs;
  }
}

/** The k largest by `size`, largest first, in one pass with a small sorted array (no copy of the input). */
function topK<T>(items: Iterable<T>, k: number, size: (t: T) => number): T[] {
  const top: T[] = [];
  for (const item of items) {
    const s = size(item);
    if (top.length === k && s <= size(top[k - 1] as T)) continue;
    let i = top.length;
    while (i > 0 && s > size(top[i - 1] as T)) i--;
    top.splice(i, 0, item);
    if (top.length > k) top.pop();
  }
  return top;
}
