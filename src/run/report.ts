import { formatBytes, formatDuration } from '../config/units.js';
import type { BackendKind, JobLimits, JobSample } from './backends/backend.js';
import { sparkline } from './chart.js';
import type { SuperviseResult } from './supervisor.js';

/** The host side of a sample: is the machine itself still fine while the job runs? */
export interface HostSample {
  readonly memAvailableBytes?: number;
  readonly memorySomeAvg10?: number;
  readonly memoryFullAvg10?: number;
  readonly cpuSomeAvg10?: number;
}

export interface TimedSample {
  /** Seconds since the job started. */
  readonly t: number;
  readonly ts: string;
  readonly job: JobSample;
  readonly host: HostSample;
}

/** One JSON line of the resource log for a sample. cpu_percent is over the previous sample (100 = one CPU). */
export function sampleLogLine(s: TimedSample, previous: TimedSample | undefined): Record<string, unknown> {
  const dt = previous === undefined ? 0 : s.t - previous.t;
  const dCpu = previous?.job.cpuSeconds !== undefined && s.job.cpuSeconds !== undefined ? s.job.cpuSeconds - previous.job.cpuSeconds : undefined;
  return {
    type: 'sample',
    ts: s.ts,
    t: Number(s.t.toFixed(3)),
    memory_bytes: s.job.memoryBytes,
    anon_bytes: s.job.anonBytes,
    peak_bytes: s.job.peakBytes,
    swap_bytes: s.job.swapBytes,
    cpu_seconds: s.job.cpuSeconds,
    cpu_percent: dCpu !== undefined && dt > 0 ? Number(((dCpu / dt) * 100).toFixed(1)) : undefined,
    throttled_periods: s.job.throttledPeriods,
    throttled_seconds: s.job.throttledSeconds,
    limit_hits: s.job.limitHits,
    high_events: s.job.highEvents,
    oom_kills: s.job.oomKills,
    processes: s.job.processes,
    psi: s.job.pressure === undefined
      ? { scope: 'host', memory_some_avg10: s.host.memorySomeAvg10, memory_full_avg10: s.host.memoryFullAvg10, cpu_some_avg10: s.host.cpuSomeAvg10 }
      : { scope: 'cgroup', memory_some_avg10: s.job.pressure.memorySome, memory_full_avg10: s.job.pressure.memoryFull, cpu_some_avg10: s.job.pressure.cpuSome },
    host_mem_available_bytes: s.host.memAvailableBytes,
  };
}

export interface RunStats {
  readonly durationMs: number;
  readonly peakBytes?: number;
  /** Seconds since start at which the peak was first seen. */
  readonly peakAtSeconds?: number;
  readonly limitHits: number;
  readonly highEvents: number;
  readonly oomKills: number;
  readonly throttledPeriods: number;
  readonly throttledSeconds: number;
  readonly cpuSeconds?: number;
  readonly hostMinAvailableBytes?: number;
  readonly hostMaxMemoryFullAvg10?: number;
}

function delta(last: number | undefined, first: number | undefined): number {
  return last === undefined ? 0 : Math.max(0, last - (first ?? 0));
}

/**
 * Aggregates the samples of a run. Peak: the kernel's own high-water mark when it keeps one (it sees the
 * spikes between samples), timed at the first sample where that mark reached its final value; otherwise the
 * largest sampled usage. Counters are deltas against the baseline taken right after the cgroup was set up.
 */
export function computeStats(samples: readonly TimedSample[], baseline: JobSample | undefined, durationMs: number): RunStats {
  const last = samples[samples.length - 1];
  let peakBytes: number | undefined;
  let peakAt: number | undefined;
  for (const s of samples) {
    const v = Math.max(s.job.peakBytes ?? 0, s.job.memoryBytes ?? 0);
    if (s.job.peakBytes === undefined && s.job.memoryBytes === undefined) continue;
    if (peakBytes === undefined || v > peakBytes) {
      peakBytes = v;
      peakAt = s.t;
    }
  }
  let minAvail: number | undefined;
  let maxFull: number | undefined;
  for (const s of samples) {
    if (s.host.memAvailableBytes !== undefined) minAvail = Math.min(minAvail ?? Infinity, s.host.memAvailableBytes);
    if (s.host.memoryFullAvg10 !== undefined) maxFull = Math.max(maxFull ?? 0, s.host.memoryFullAvg10);
  }
  return {
    durationMs,
    peakBytes,
    peakAtSeconds: peakAt,
    limitHits: delta(last?.job.limitHits, baseline?.limitHits),
    highEvents: delta(last?.job.highEvents, baseline?.highEvents),
    oomKills: delta(last?.job.oomKills, baseline?.oomKills),
    throttledPeriods: delta(last?.job.throttledPeriods, baseline?.throttledPeriods),
    throttledSeconds: delta(last?.job.throttledSeconds, baseline?.throttledSeconds),
    cpuSeconds: last?.job.cpuSeconds === undefined ? undefined : delta(last.job.cpuSeconds, baseline?.cpuSeconds),
    hostMinAvailableBytes: minAvail,
    hostMaxMemoryFullAvg10: maxFull,
  };
}

/** Exit codes of `headroom run` besides the job's own (0–255, or 128 + signal when a signal ended it). */
export const RUN_EXIT = {
  /** headroom run could not start the job (limits failed to apply after selection, spawn failed, join failed). */
  cannotStart: 125,
  /** The command exists but is not executable. */
  notExecutable: 126,
  /** The command was not found. */
  notFound: 127,
  /** --timeout expired (as timeout(1)), whether SIGTERM sufficed or SIGKILL was needed. */
  timeout: 124,
  /** Not enough MemAvailable for --require-available (EX_TEMPFAIL: try again later). */
  notEnoughMemory: 75,
  /** No limit backend is usable (needs root or a delegated cgroup) and --no-limits was not given (EX_NOPERM). */
  noLimits: 77,
} as const;

const SIGNAL_NUMBERS: Readonly<Record<string, number>> = {
  SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGILL: 4, SIGTRAP: 5, SIGABRT: 6, SIGBUS: 7, SIGFPE: 8, SIGKILL: 9, SIGUSR1: 10,
  SIGSEGV: 11, SIGUSR2: 12, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15, SIGXCPU: 24, SIGXFSZ: 25,
};

export function signalNumber(signal: string, lookup: Readonly<Record<string, number>> = SIGNAL_NUMBERS): number {
  return lookup[signal] ?? 0;
}

export interface Outcome {
  readonly exitCode: number;
  /** One plain sentence for people. */
  readonly headline: string;
  readonly killedByKernel: boolean;
}

export interface OutcomeInput {
  readonly result: Pick<SuperviseResult, 'exit' | 'stop' | 'sigkilled' | 'durationMs'>;
  readonly stats: RunStats;
  readonly limits: JobLimits;
  /** Host memory-stall threshold in percent (PSI full avg10) above which the machine did not stay responsive. */
  readonly responsiveFullPct: number;
  readonly memTotalBytes: number;
  readonly signalNumbers?: Readonly<Record<string, number>>;
}

/** How the host fared during the run, in words backed by the numbers sampled. */
export function hostVerdict(stats: RunStats, responsiveFullPct: number, memTotalBytes: number): string {
  const full = stats.hostMaxMemoryFullAvg10;
  const avail = stats.hostMinAvailableBytes;
  const lowAvail = avail !== undefined && avail < 0.05 * memTotalBytes;
  if ((full === undefined || full < responsiveFullPct) && !lowAvail && (full !== undefined || avail !== undefined)) return 'the machine stayed responsive';
  if (full === undefined && avail === undefined) return 'the host was not measured';
  return `the machine was under memory pressure (host stall peaked at ${(full ?? 0).toFixed(1)} %, MemAvailable down to ${formatBytes(avail ?? 0)})`;
}

/** Decides headroom's exit code and the headline from how the job ended. Pure. */
export function decideOutcome(input: OutcomeInput): Outcome {
  const { exit, stop, sigkilled, durationMs } = input.result;
  const { stats, limits } = input;
  const after = formatDuration(durationMs);
  const limitText = limits.memoryMaxBytes === undefined ? 'memory' : `${formatBytes(limits.memoryMaxBytes)}`;
  const peak = stats.peakBytes === undefined ? 'unknown' : formatBytes(stats.peakBytes);
  const host = hostVerdict(stats, input.responsiveFullPct, input.memTotalBytes);
  const jobCode = exit.error !== undefined ? RUN_EXIT.cannotStart : exit.signal !== null ? 128 + signalNumber(exit.signal, input.signalNumbers) : (exit.code ?? RUN_EXIT.cannotStart);
  if (exit.error !== undefined) {
    return { exitCode: RUN_EXIT.cannotStart, headline: `could not start the job: ${exit.error.message}`, killedByKernel: false };
  }
  if (stop?.kind === 'timeout') {
    const how = sigkilled ? `it ignored SIGTERM and was SIGKILLed after the grace period` : `it stopped on SIGTERM`;
    return { exitCode: RUN_EXIT.timeout, headline: `timed out after ${formatDuration(stop.atMs)}; ${how}; peak ${peak}`, killedByKernel: false };
  }
  if (stats.oomKills > 0 && exit.signal === 'SIGKILL' && stop === undefined) {
    return {
      exitCode: jobCode,
      headline: `stopped by the kernel at its ${limitText} limit after ${after}; peak ${peak}; ${host}`,
      killedByKernel: true,
    };
  }
  if (stats.oomKills > 0) {
    const n = stats.oomKills;
    const ended = exit.signal !== null ? `was killed by ${exit.signal}` : `exited with ${exit.code}`;
    return {
      exitCode: jobCode === 0 ? 0 : jobCode,
      headline: `the kernel killed ${n} process${n === 1 ? '' : 'es'} of the job at its ${limitText} limit; the job ${ended} after ${after}; peak ${peak}; ${host}`,
      killedByKernel: true,
    };
  }
  if (stop?.kind === 'signal') {
    const how = sigkilled ? 'it did not stop within the grace period and was SIGKILLed' : `it ${exit.signal !== null ? `ended on ${exit.signal}` : `exited with ${exit.code}`}`;
    return { exitCode: jobCode, headline: `stopped by ${stop.signal} (forwarded to the job) after ${after}; ${how}`, killedByKernel: false };
  }
  if (exit.signal !== null) return { exitCode: jobCode, headline: `killed by ${exit.signal} after ${after}; peak ${peak}`, killedByKernel: false };
  return {
    exitCode: jobCode,
    headline: `${exit.code === 0 ? 'finished' : 'failed'} with exit code ${exit.code} after ${after}; peak ${peak}`,
    killedByKernel: false,
  };
}

export interface SummaryInput {
  readonly name: string;
  readonly runId: string;
  readonly backend: BackendKind | 'none';
  readonly location?: string;
  readonly limits: JobLimits;
  readonly outcome: Outcome;
  readonly stats: RunStats;
  readonly memorySeries: readonly number[];
  readonly logPath?: string;
  readonly chartPath?: string;
  readonly cleanupProblems: readonly string[];
  readonly leftovers: number;
  readonly responsiveFullPct: number;
  readonly memTotalBytes: number;
}

/** The end-of-run summary printed to stderr (stdout belongs to the job). Pure. */
export function renderSummary(s: SummaryInput): string {
  const { stats, limits } = s;
  const lines: string[] = [];
  lines.push(`headroom run: ${s.name} (run ${s.runId}) ${s.outcome.headline}`);
  const peakPart =
    stats.peakBytes === undefined
      ? 'peak memory unknown'
      : `peak memory ${formatBytes(stats.peakBytes)} at ${formatDuration((stats.peakAtSeconds ?? 0) * 1000)}` +
        (limits.memoryMaxBytes !== undefined ? ` (${Math.round((stats.peakBytes / limits.memoryMaxBytes) * 100)} % of the ${formatBytes(limits.memoryMaxBytes)} limit)` : '');
  const cpu = stats.cpuSeconds === undefined ? '' : `; CPU ${stats.cpuSeconds.toFixed(1)} s`;
  lines.push(`  duration ${formatDuration(stats.durationMs)}; ${peakPart}${cpu}`);
  lines.push(
    `  limit hits ${stats.limitHits}; OOM kills ${stats.oomKills}` +
      (limits.memoryHighBytes !== undefined ? `; over memory.high ${stats.highEvents} times` : '') +
      `; CPU throttled ${stats.throttledPeriods} periods (${stats.throttledSeconds.toFixed(1)} s)`,
  );
  const hostBits: string[] = [];
  if (stats.hostMinAvailableBytes !== undefined) hostBits.push(`MemAvailable never below ${formatBytes(stats.hostMinAvailableBytes)}`);
  if (stats.hostMaxMemoryFullAvg10 !== undefined) hostBits.push(`memory stall (PSI full avg10) peaked at ${stats.hostMaxMemoryFullAvg10.toFixed(2)} %`);
  if (hostBits.length > 0) lines.push(`  host: ${hostVerdict(stats, s.responsiveFullPct, s.memTotalBytes)}: ${hostBits.join('; ')}`);
  const spark = sparkline(s.memorySeries, 60, limits.memoryMaxBytes);
  if (spark.length > 0) {
    lines.push(`  memory ${spark}  (0 → ${formatDuration(stats.durationMs)}${limits.memoryMaxBytes !== undefined ? '; full block = limit' : ''})`);
  }
  lines.push(`  limits: ${s.backend === 'none' ? 'none (--no-limits)' : `${s.backend} at ${s.location ?? '?'}`}`);
  const files = [s.logPath === undefined ? undefined : `log ${s.logPath}`, s.chartPath === undefined ? undefined : `chart ${s.chartPath}`].filter(Boolean);
  if (files.length > 0) lines.push(`  ${files.join('; ')}`);
  if (s.leftovers > 0) lines.push(`  stopped ${s.leftovers} leftover process(es) of the job after it exited`);
  for (const p of s.cleanupProblems) lines.push(`  cleanup problem: ${p}`);
  lines.push(`  exit code ${s.outcome.exitCode}`);
  return `${lines.join('\n')}\n`;
}

/** The final JSON line of the resource log. */
export function summaryLogLine(s: SummaryInput): Record<string, unknown> {
  return {
    type: 'summary',
    name: s.name,
    run_id: s.runId,
    backend: s.backend,
    cgroup: s.location,
    exit_code: s.outcome.exitCode,
    headline: s.outcome.headline,
    killed_by_kernel: s.outcome.killedByKernel,
    duration_seconds: s.stats.durationMs / 1000,
    peak_bytes: s.stats.peakBytes,
    peak_at_seconds: s.stats.peakAtSeconds,
    limit_bytes: s.limits.memoryMaxBytes,
    limit_hits: s.stats.limitHits,
    high_events: s.stats.highEvents,
    oom_kills: s.stats.oomKills,
    throttled_periods: s.stats.throttledPeriods,
    throttled_seconds: s.stats.throttledSeconds,
    cpu_seconds: s.stats.cpuSeconds,
    host_min_available_bytes: s.stats.hostMinAvailableBytes,
    host_max_memory_full_avg10: s.stats.hostMaxMemoryFullAvg10,
    leftover_processes: s.leftovers,
    cleanup_problems: s.cleanupProblems,
  };
}
