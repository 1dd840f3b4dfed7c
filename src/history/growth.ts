import type { IncidentGrowth, GrowthMoment } from '../incidents/types.js';
import type { TreeGrowth } from '../notify/events.js';
import type { GrowthSource, VictimIdentity } from '../remediation/growth-source.js';

export type { GrowthSource, VictimIdentity } from '../remediation/growth-source.js';
import { renderMemoryChart, type ChartInput } from './chart.js';
import { slopePerSecond, type HostPoint, type SeriesPoint, type ShortHistory, type TreeView } from './history.js';

/**
 * Why a tree grew, from the agent's short history (issue #11): when growth began, how fast it grew lately,
 * and where the host stood at the moments that matter. Pure functions of series; the agent wires them to
 * its ShortHistory (growthAt below).
 *
 * Definitions (docs/guard.md "Growth"):
 *  - Onset of growth: the earliest sample after which the tree never again held less than its value there
 *    minus a tolerance (5 % of the tree's last value) — moved on to the last sample of a plateau that follows
 *    it (samples within 5 % of its value or 1 % of the last value, whichever is larger) — provided the tree grew from there by at least 10 % of its
 *    last value. When that sample is the first one of the history, growth began at or before the history
 *    starts (`beganBeforeHistory`): the real onset is not known and is not invented.
 *  - Rate: the least-squares slope of the tree's resident bytes over the last `rateWindowMs` (5 min) before
 *    the moment, from at least two samples at least `minSpanMs` (10 s) apart; otherwise absent.
 */
export interface GrowthOptions {
  /** Tolerated dip below the onset value, as a share of the last value (default 0.05). */
  readonly tolerance: number;
  /** Least growth since the onset to call it growth, as a share of the last value (default 0.10). */
  readonly minGrowth: number;
  /** The rate is the slope over this much of the series before the moment (default 5 min). */
  readonly rateWindowMs: number;
  /** The rate needs samples spanning at least this long (default 10 s). */
  readonly minSpanMs: number;
}

export const DEFAULT_GROWTH: GrowthOptions = { tolerance: 0.05, minGrowth: 0.1, rateWindowMs: 5 * 60_000, minSpanMs: 10_000 };

export interface Onset {
  readonly atMs: number;
  readonly bytes: number;
  /** The onset is the history's first sample: growth began then or earlier. */
  readonly beforeHistory: boolean;
}

/** The onset of sustained growth (definition above), or undefined when the series does not show growth. */
export function growthOnset(series: readonly SeriesPoint[], options: GrowthOptions = DEFAULT_GROWTH): Onset | undefined {
  const last = series[series.length - 1];
  if (last === undefined || series.length < 2 || !(last.value > 0)) return undefined;
  const tol = options.tolerance * last.value;
  // Suffix minima: the lowest value strictly after each index.
  const after = new Array<number>(series.length);
  let min = Infinity;
  for (let i = series.length - 1; i >= 0; i--) {
    after[i] = min;
    min = Math.min(min, (series[i] as SeriesPoint).value);
  }
  for (let i = 0; i < series.length - 1; i++) {
    const p = series[i] as SeriesPoint;
    if ((after[i] as number) < p.value - tol) continue;
    // The last sample of a plateau before the rise: step over following samples close to it (5 % of its value
    // or 1 % of the last value, whichever is larger) that are themselves never undercut.
    const flat = Math.max(0.05 * p.value, 0.01 * last.value);
    let j = i;
    while (j + 1 < series.length - 1 && Math.abs((series[j + 1] as SeriesPoint).value - p.value) <= flat && (after[j + 1] as number) >= (series[j + 1] as SeriesPoint).value - tol) j++;
    const q = series[j] as SeriesPoint;
    if (last.value - q.value < options.minGrowth * last.value) return undefined;
    return { atMs: q.atMs, bytes: q.value, beforeHistory: j === 0 };
  }
  return undefined;
}

/** Bytes per second over the last `rateWindowMs` up to `atMs`, or undefined when the series cannot say. */
export function recentRate(series: readonly SeriesPoint[], atMs: number, options: GrowthOptions = DEFAULT_GROWTH): { bytesPerSecond: number; overSeconds: number } | undefined {
  const recent = series.filter((p) => p.atMs <= atMs && p.atMs >= atMs - options.rateWindowMs);
  const first = recent[0];
  const last = recent[recent.length - 1];
  if (first === undefined || last === undefined || recent.length < 2 || last.atMs - first.atMs < options.minSpanMs) return undefined;
  const slope = slopePerSecond(recent);
  return slope === undefined ? undefined : { bytesPerSecond: slope, overSeconds: (last.atMs - first.atMs) / 1000 };
}

/** The host point nearest to `atMs`, when one lies within `withinMs`. */
export function hostAt(points: readonly HostPoint[], atMs: number, withinMs: number): HostPoint | undefined {
  let best: HostPoint | undefined;
  for (const p of points) if (best === undefined || Math.abs(p.atMs - atMs) < Math.abs(best.atMs - atMs)) best = p;
  return best !== undefined && Math.abs(best.atMs - atMs) <= withinMs ? best : undefined;
}

/** The tree's value at or just before `atMs` (within `withinMs`). */
function treeAt(series: readonly SeriesPoint[], atMs: number, withinMs: number): number | undefined {
  let best: SeriesPoint | undefined;
  for (const p of series) if (p.atMs <= atMs + 1000 && (best === undefined || p.atMs > best.atMs)) best = p;
  return best !== undefined && atMs - best.atMs <= withinMs ? best.value : undefined;
}

function sameProcess(t: { pid: number; startTimeSeconds: number }, v: { pid: number; startTime: string }): boolean {
  return t.pid === v.pid && Math.abs(t.startTimeSeconds - Number(v.startTime)) < 0.02;
}

/**
 * The victim's series in the history: the tree rooted at the victim; else one rooted at one of its processes;
 * else the job tree it belongs to (rooted at its nearest sampled ancestor: the policy descended into a child
 * holding most of the job), marked `containing`.
 */
export function findVictimTree(trees: readonly TreeView[], victim: VictimIdentity): (TreeView & { readonly containing?: true }) | undefined {
  const root = trees.find((t) => sameProcess(t, victim));
  if (root) return root;
  const members = victim.tree ?? [];
  const member = trees.find((t) => members.some((m) => sameProcess(t, m)));
  if (member) return member;
  for (const a of victim.ancestors ?? []) {
    const job = trees.find((t) => sameProcess(t, a));
    if (job) return { ...job, containing: true };
  }
  return undefined;
}

export interface GrowthInput {
  /** The whole host history (oldest first). */
  readonly host: readonly HostPoint[];
  /** The victim's tree as the history knows it (undefined: not among the top trees sampled). */
  readonly tree?: Pick<TreeView, 'pid' | 'comm' | 'series'> & { readonly containing?: true };
  /** The moments of the timeline (epoch ms). */
  readonly firstWarningMs?: number;
  readonly criticalMs: number;
  readonly actionMs: number;
  /** When the history began (the agent's start, or its first sample). */
  readonly historyStartMs?: number;
  /** Host points farther than this from a moment are not used for it (default 5 s). */
  readonly hostWithinMs?: number;
  /** Tree samples older than this before a moment are not used for it (default 60 s). */
  readonly treeWithinMs?: number;
  readonly options?: GrowthOptions;
}

const seconds = (ms: number): number => Math.max(0, Math.round(ms / 1000));

/** The incident's Growth section from the history; states what is missing instead of inventing it. */
export function incidentGrowth(input: GrowthInput): IncidentGrowth {
  const options = input.options ?? DEFAULT_GROWTH;
  const hostWithin = input.hostWithinMs ?? 5000;
  const treeWithin = input.treeWithinMs ?? 60_000;
  const firstHost = input.host[0];
  const startMs = input.historyStartMs ?? firstHost?.atMs;
  if (firstHost === undefined && input.tree === undefined) {
    return { noHistory: startMs === undefined ? 'no history: the agent had sampled nothing before the action' : `no history: the agent started ${seconds(input.actionMs - startMs)} s before the action` };
  }
  const series = input.tree?.series.filter((p) => p.atMs <= input.actionMs + 1000) ?? [];
  const onset = growthOnset(series, options);
  const rate = recentRate(series, input.actionMs, options);
  const moment = (atMs: number): GrowthMoment => {
    const h = hostAt(input.host, atMs, hostWithin);
    const t = treeAt(series, atMs, treeWithin);
    return {
      at: new Date(atMs).toISOString(),
      ...(h ? { hostUsedBytes: h.totalBytes - h.availableBytes, hostTotalBytes: h.totalBytes, hostAvailableBytes: h.availableBytes } : {}),
      ...(h?.swapUsedBytes !== undefined ? { hostSwapUsedBytes: h.swapUsedBytes } : {}),
      ...(t !== undefined ? { treeBytes: t } : {}),
    };
  };
  const firstSeries = series[0];
  return {
    historyFrom: new Date(Math.min(firstHost?.atMs ?? Infinity, firstSeries?.atMs ?? Infinity)).toISOString(),
    ...(input.tree ? { tree: { pid: input.tree.pid, comm: input.tree.comm, samples: series.length, ...(input.tree.containing ? { containsVictim: true } : {}) } } : { treeMissing: 'the victim was not among the largest trees the history sampled' }),
    ...(onset ? { began: { ...moment(onset.atMs), treeBytes: onset.bytes }, beganBeforeHistory: onset.beforeHistory } : {}),
    ...(rate ? { rateBytesPerSecond: rate.bytesPerSecond, rateOverSeconds: rate.overSeconds } : {}),
    ...(input.firstWarningMs !== undefined ? { firstWarning: moment(input.firstWarningMs) } : {}),
    critical: moment(input.criticalMs),
    action: moment(input.actionMs),
    ...(input.firstWarningMs !== undefined ? { warningToActionSeconds: Math.max(0, (input.actionMs - input.firstWarningMs) / 1000) } : {}),
  };
}

/** What a warning can say about growth: the fastest-growing tree and the time to exhaustion at its rate. */
export type WarningGrowth = TreeGrowth;

/**
 * The tree growing fastest now and the predicted time to exhaustion of MemAvailable plus free swap at its
 * rate; undefined when the history cannot support it (no host point, no tree with a rate, none growing by
 * at least `minBytesPerSecond`).
 */
export function warningGrowth(host: readonly HostPoint[], trees: readonly Pick<TreeView, 'pid' | 'comm' | 'series'>[], nowMs: number, options: GrowthOptions = DEFAULT_GROWTH, minBytesPerSecond = 1024 * 1024): WarningGrowth | undefined {
  const h = hostAt(host, nowMs, 10_000);
  if (h === undefined) return undefined;
  let best: { tree: Pick<TreeView, 'pid' | 'comm'>; rate: { bytesPerSecond: number; overSeconds: number } } | undefined;
  for (const t of trees) {
    const rate = recentRate(t.series, nowMs, options);
    if (rate && rate.bytesPerSecond >= minBytesPerSecond && (best === undefined || rate.bytesPerSecond > best.rate.bytesPerSecond)) best = { tree: t, rate };
  }
  if (best === undefined) return undefined;
  const includesSwap = h.swapTotalBytes !== undefined && h.swapTotalBytes > 0 && h.swapUsedBytes !== undefined;
  const headroomBytes = h.availableBytes + (includesSwap ? Math.max(0, (h.swapTotalBytes) - (h.swapUsedBytes)) : 0);
  return { pid: best.tree.pid, comm: best.tree.comm, bytesPerSecond: best.rate.bytesPerSecond, overSeconds: best.rate.overSeconds, exhaustionSeconds: headroomBytes / best.rate.bytesPerSecond, includesSwap, headroomBytes };
}

/** A GrowthSource over a ShortHistory; `startedAtMs` is the agent's start (for "no history" sentences). */
export function historyGrowthSource(history: ShortHistory, startedAtMs: number, host: string): GrowthSource {
  return {
    incident(victim, times) {
      const points = history.host();
      const trees = history.trees();
      const tree = victim ? findVictimTree(trees, victim) : undefined;
      const growth = incidentGrowth({ host: points, ...(tree ? { tree } : {}), ...times, historyStartMs: startedAtMs });
      if (growth.noHistory !== undefined) return { growth };
      return { growth, chartSvg: renderMemoryChart(chartInput(host, points, tree, times)) };
    },
    warning(nowMs) {
      return warningGrowth(history.host(), history.trees(), nowMs);
    },
  };
}

/** The chart of an incident: the host, the victim's series, and the moments of the timeline. */
export function chartInput(host: string, points: readonly HostPoint[], tree: Pick<TreeView, 'comm' | 'pid' | 'series'> | undefined, times: { readonly firstWarningMs?: number; readonly criticalMs: number; readonly actionMs: number }): ChartInput {
  const marks: Array<{ label: string; atMs: number }> = [];
  // A warning from before the history would stretch the time axis over hours of nothing: it is in the report's table.
  const from = Math.min(points[0]?.atMs ?? times.actionMs, tree?.series[0]?.atMs ?? times.actionMs);
  if (times.firstWarningMs !== undefined && times.firstWarningMs >= from) marks.push({ label: 'first warning', atMs: times.firstWarningMs });
  if (times.criticalMs !== times.actionMs) marks.push({ label: 'critical', atMs: times.criticalMs });
  marks.push({ label: 'action', atMs: times.actionMs });
  return {
    title: `Memory on ${host}: ${tree ? `PID ${tree.pid} (${tree.comm})` : 'victim not sampled'} against the host`,
    host: points,
    ...(tree ? { victim: { label: `PID ${tree.pid} (${tree.comm}) resident`, series: tree.series } } : {}),
    marks,
  };
}
