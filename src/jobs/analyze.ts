import { formatBytes, formatDuration } from '../config/units.js';
import type { JobRun } from './parse.js';

/** Per job name: what its history says, and what to run it with next time. Pure. */
export interface JobStats {
  readonly name: string;
  readonly runs: number;
  readonly peak: { readonly p50?: number; readonly p95?: number; readonly max?: number };
  readonly durationSeconds: { readonly p50?: number; readonly p95?: number; readonly max?: number };
  /** Runs in which the kernel stopped the job at its memory limit. */
  readonly hitLimit: number;
  /** Runs stopped by --timeout (exit 124) or by headroom's remediation. */
  readonly stopped: number;
  readonly incomplete: number;
  readonly recommendation: Recommendation;
}

export interface Recommendation {
  /** Bytes for --memory-max; undefined when no run recorded a peak. */
  readonly memoryMaxBytes?: number;
  /** Seconds for --timeout; undefined without a finished run. */
  readonly timeoutSeconds?: number;
  /** False when even the recommended limit does not fit this host. */
  readonly fits: boolean;
  /** The flags, ready to paste: "--memory-max 2.5G --timeout 20m". */
  readonly flags: string;
  /** Why, in one sentence. */
  readonly reasoning: string;
}

export interface AnalyzeOptions {
  /** MemTotal of this host. */
  readonly hostMemTotalBytes: number;
  /** Headroom added to the p95 peak (0.25 = 25 %). */
  readonly memoryMargin?: number;
  /** Added to the p95 duration of finished runs (0.5 = 50 %). */
  readonly timeoutMargin?: number;
}

/** Nearest-rank percentile of sorted values (p in 0–1). */
export function percentile(sorted: readonly number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const rank = Math.max(1, Math.ceil(p * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1];
}

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** Rounds a limit up to a value people write: 256 MiB steps below 8 GiB, 1 GiB steps below 64 GiB, then 4 GiB. */
export function roundUpLimit(bytes: number): number {
  const step = bytes < 8 * GiB ? 256 * MiB : bytes < 64 * GiB ? GiB : 4 * GiB;
  return Math.max(step, Math.ceil(bytes / step) * step);
}

/** Rounds a timeout up: whole minutes below 2 h, then 15-minute steps. */
export function roundUpTimeout(seconds: number): number {
  const step = seconds < 7200 ? 60 : 900;
  return Math.max(step, Math.ceil(seconds / step) * step);
}

/** A size as the --memory-max flag takes it: "768M", "3G", "2.5G". */
export function sizeFlag(bytes: number): string {
  if (bytes % GiB === 0) return `${bytes / GiB}G`;
  if (bytes >= GiB && (bytes * 4) % GiB === 0) return `${bytes / GiB}G`;
  return `${Math.ceil(bytes / MiB)}M`;
}

/** A duration as --timeout takes it: "20m", "2h", "2h15m". */
export function durationFlag(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.round((seconds % 3600) / 60);
  return h === 0 ? `${m}m` : m === 0 ? `${h}h` : `${h}h${m}m`;
}

function sortedOf(values: ReadonlyArray<number | undefined>): number[] {
  return values.filter((v): v is number => v !== undefined && Number.isFinite(v)).sort((a, b) => a - b);
}

function recommend(runs: readonly JobRun[], peak: JobStats['peak'], o: AnalyzeOptions): Recommendation {
  const margin = o.memoryMargin ?? 0.25;
  const tMargin = o.timeoutMargin ?? 0.5;
  const reasons: string[] = [];
  let memory: number | undefined;
  const hit = runs.filter((r) => r.hitLimit);
  if (peak.p95 !== undefined) {
    memory = roundUpLimit(peak.p95 * (1 + margin));
    reasons.push(`p95 peak ${formatBytes(peak.p95)} + ${Math.round(margin * 100)} %, rounded up`);
  }
  if (hit.length > 0) {
    // A run stopped at its limit never showed what it needed: its peak is the limit, not its need.
    const highest = Math.max(...hit.map((r) => r.limitBytes ?? r.peakBytes ?? 0));
    const floor = roundUpLimit(highest * 1.5);
    if (memory === undefined || floor > memory) memory = floor;
    reasons.push(`${hit.length} of ${runs.length} run${runs.length === 1 ? '' : 's'} hit the limit (up to ${formatBytes(highest)}), so the real need is above it: at least 1.5× that`);
  }
  const finished = runs.filter((r) => !r.incomplete && !r.timedOut && !r.hitLimit && !r.stoppedByHeadroom && r.exitCode === 0);
  const durations = sortedOf(finished.map((r) => r.durationSeconds));
  const p95d = percentile(durations, 0.95);
  let timeout: number | undefined;
  if (p95d !== undefined) {
    timeout = roundUpTimeout(p95d * (1 + tMargin));
    reasons.push(`timeout: p95 of ${durations.length} successful run${durations.length === 1 ? '' : 's'} ${formatDuration(p95d * 1000)} + ${Math.round(tMargin * 100)} %`);
  } else {
    reasons.push('no successful run yet, so no timeout recommendation');
  }
  // "Cannot fit at all": what the job is known to need (its p95 peak, or a limit it hit) exceeds MemTotal.
  const known = Math.max(peak.p95 ?? 0, ...hit.map((r) => r.limitBytes ?? r.peakBytes ?? 0));
  const fits = known <= o.hostMemTotalBytes;
  const cap = Math.floor((0.9 * o.hostMemTotalBytes) / (256 * MiB)) * 256 * MiB;
  if (fits && memory !== undefined && memory > cap && cap > 0) {
    memory = Math.max(cap, roundUpLimit(known));
    reasons.push(`capped near 90 % of this host's ${formatBytes(o.hostMemTotalBytes)}: the host keeps little room for anything else`);
  }
  const flags = [memory !== undefined && fits ? `--memory-max ${sizeFlag(memory)}` : undefined, timeout !== undefined ? `--timeout ${durationFlag(timeout)}` : undefined].filter((s): s is string => s !== undefined).join(' ');
  const reasoning = fits
    ? reasons.join('; ')
    : `cannot fit this host: needs ${formatBytes(known)}${hit.length > 0 && known > (peak.p95 ?? 0) ? ' or more (it hit that limit)' : ' at p95'}; this host has ${formatBytes(o.hostMemTotalBytes)}. Run it on a larger machine or make it use less memory`;
  return { memoryMaxBytes: memory, timeoutSeconds: timeout, fits, flags, reasoning };
}

/** Groups runs by job name (sorted by name) and computes the statistics and the recommendation of each. */
export function analyzeJobs(runs: readonly JobRun[], o: AnalyzeOptions): JobStats[] {
  const byName = new Map<string, JobRun[]>();
  for (const r of runs) byName.set(r.name, [...(byName.get(r.name) ?? []), r]);
  return [...byName.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, list]) => {
      const peaks = sortedOf(list.map((r) => r.peakBytes));
      const durations = sortedOf(list.map((r) => r.durationSeconds));
      const peak = { p50: percentile(peaks, 0.5), p95: percentile(peaks, 0.95), max: peaks[peaks.length - 1] };
      return {
        name,
        runs: list.length,
        peak,
        durationSeconds: { p50: percentile(durations, 0.5), p95: percentile(durations, 0.95), max: durations[durations.length - 1] },
        hitLimit: list.filter((r) => r.hitLimit).length,
        stopped: list.filter((r) => r.timedOut || r.stoppedByHeadroom).length,
        incomplete: list.filter((r) => r.incomplete).length,
        recommendation: recommend(list, peak, o),
      };
    });
}

/** Marks runs that headroom's remediation stopped (incidents naming the job's cgroup, by run id). */
export function markStopped(runs: readonly JobRun[], stoppedRunIds: ReadonlySet<string>): JobRun[] {
  return runs.map((r) => (stoppedRunIds.has(r.runId) ? { ...r, stoppedByHeadroom: true } : r));
}

const b = (n: number | undefined): string => (n === undefined ? '—' : formatBytes(n));
const d = (s: number | undefined): string => (s === undefined ? '—' : formatDuration(s * 1000));

/** The table `headroom jobs` prints, then one line per job with the recommendation and its reasoning. Pure. */
export function renderJobsTable(jobs: readonly JobStats[], hostMemTotalBytes: number): string {
  if (jobs.length === 0) return 'no job history yet: `headroom run` records every run (see docs/run.md, "History")\n';
  const head = ['JOB', 'RUNS', 'PEAK p50', 'p95', 'max', 'DURATION p50', 'p95', 'max', 'HIT LIMIT', 'STOPPED', 'RECOMMENDED'];
  const rows = jobs.map((j) => [
    j.name,
    String(j.runs),
    b(j.peak.p50),
    b(j.peak.p95),
    b(j.peak.max),
    d(j.durationSeconds.p50),
    d(j.durationSeconds.p95),
    d(j.durationSeconds.max),
    String(j.hitLimit),
    String(j.stopped),
    j.recommendation.fits ? j.recommendation.flags || '—' : 'does not fit this host',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === 0 || i === cells.length - 1 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const out = [line(head), ...rows.map(line), ''];
  for (const j of jobs) {
    const incomplete = j.incomplete > 0 ? ` (${j.incomplete} run${j.incomplete === 1 ? '' : 's'} without a summary: numbers from the last samples)` : '';
    out.push(`${j.name}: ${j.recommendation.fits ? `${j.recommendation.flags || 'no recommendation'}: ${j.recommendation.reasoning}` : j.recommendation.reasoning}${incomplete}`);
  }
  out.push(`host MemTotal ${formatBytes(hostMemTotalBytes)}`);
  return `${out.join('\n')}\n`;
}

/** The start message of `headroom run` for a job with history (one line), or undefined without history. */
export function historyNote(job: JobStats | undefined): string | undefined {
  if (job === undefined) return undefined;
  const r = job.recommendation;
  const what = `${job.runs} earlier run${job.runs === 1 ? '' : 's'}, peak p95 ${b(job.peak.p95)}, max ${b(job.peak.max)}${job.hitLimit > 0 ? `, hit its limit ${job.hitLimit}×` : ''}${job.stopped > 0 ? `, stopped ${job.stopped}×` : ''}`;
  return r.fits ? `history of ${job.name}: ${what}; recommended ${r.flags || '(none yet)'} (${r.reasoning})` : `history of ${job.name}: ${what}; ${r.reasoning}`;
}

/** `headroom jobs --json`: plain data for scripts. */
export function jobsJson(jobs: readonly JobStats[], hostMemTotalBytes: number): Record<string, unknown> {
  return { host_mem_total_bytes: hostMemTotalBytes, jobs: jobs.map((j) => ({
    name: j.name,
    runs: j.runs,
    peak_bytes: j.peak,
    duration_seconds: j.durationSeconds,
    hit_limit: j.hitLimit,
    stopped: j.stopped,
    incomplete: j.incomplete,
    recommendation: { memory_max_bytes: j.recommendation.memoryMaxBytes, timeout_seconds: j.recommendation.timeoutSeconds, fits: j.recommendation.fits, flags: j.recommendation.flags, reasoning: j.recommendation.reasoning },
  })) };
}
