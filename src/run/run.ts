import { dirname, join } from 'node:path';
import type { RunConfig } from '../config/sections/run.js';
import { formatBytes, formatDuration } from '../config/units.js';
import type { ProcFs } from '../procfs/procfs.js';
import type { AppliedLimit, BackendKind, CgroupIo, JobBackend, JobLimits, JobSample } from './backends/backend.js';
import { selectBackend } from './backends/select.js';
import { findOnPath, type Systemctl } from './backends/systemd.js';
import { renderMemoryChartSvg } from './chart.js';
import { cgroupLeaf } from './options.js';
import { preflight } from './preflight.js';
import {
  computeStats,
  decideOutcome,
  renderSummary,
  RUN_EXIT,
  sampleLogLine,
  summaryLogLine,
  type HostSample,
  type SummaryInput,
  type TimedSample,
} from './report.js';
import { supervise, type ProcessControl, type SignalSource } from './supervisor.js';
import { errorMessage } from '../logging/logger.js';

/** A problem with what was asked (an unwritable --log, …): the CLI reports it as a usage error (exit 2). */
export class RunInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunInputError';
  }
}

export interface LogSink {
  write(line: string): void;
  close(): void;
}

export interface RunDeps {
  readonly io: CgroupIo;
  readonly procfs: ProcFs;
  readonly control: ProcessControl;
  readonly signals: SignalSource;
  readonly monotonicMs: () => number;
  readonly now: () => Date;
  readonly sleep: (ms: number) => Promise<void>;
  /** headroom's own messages (stderr; stdout belongs to the job). */
  readonly say: (text: string) => void;
  readonly openLog: (path: string) => LogSink;
  readonly writeFile: (path: string, text: string) => void;
  readonly isExecutable: (file: string) => boolean;
  readonly exists: (file: string) => boolean;
  readonly uid: number;
  readonly pathEnv: string | undefined;
  /** systemctl, for the systemd backend (stops the job's slice when the run is over). */
  readonly systemctl?: Systemctl;
}

export interface RunRequest {
  readonly command: readonly string[];
  readonly name: string;
  readonly runId: string;
  readonly run: RunConfig;
  readonly limits: JobLimits;
  readonly limitsEnabled: boolean;
  readonly memTotalBytes: number;
  readonly cgroupRoot: string;
  /** --log, else <run.log_dir>/<name>-<run id>.jsonl, else no files. */
  readonly logPath?: string;
  /** Host stall (PSI memory full avg10, %) at or above which the summary does not call the machine responsive. */
  readonly responsiveFullPct: number;
  /** Time between wait-available checks (ms); tests shorten it. */
  readonly waitPollMs?: number;
}

/** Without any cgroup (--no-limits where none can be created): only the main process is known. */
class NoCgroup implements JobBackend {
  readonly kind = 'cgroup-v1' as const;
  readonly location = '(no cgroup)';
  readonly warnings = [];
  setup(): AppliedLimit[] {
    return [];
  }
  wrap(command: readonly string[]): readonly string[] {
    return command;
  }
  pids(): number[] {
    return [];
  }
  sample(): JobSample {
    return { processes: 0 };
  }
  remove(): void {}
}

function describeLimits(limits: JobLimits): string {
  const parts: string[] = [];
  if (limits.memoryMaxBytes !== undefined) parts.push(`memory max ${formatBytes(limits.memoryMaxBytes)}`);
  if (limits.memoryHighBytes !== undefined) parts.push(`high ${formatBytes(limits.memoryHighBytes)}`);
  if (limits.swapMaxBytes !== undefined) parts.push(`swap ${limits.swapMaxBytes === 0 ? 'none' : formatBytes(limits.swapMaxBytes)}`);
  if (limits.cpuQuota !== undefined) parts.push(`CPU ${Math.round(limits.cpuQuota * 100)} %`);
  return parts.length > 0 ? parts.join(', ') : 'no limits';
}

/** The chart's file next to the log: run.jsonl → run.svg. */
export function chartPathFor(logPath: string): string {
  return /\.jsonl?$/.test(logPath) ? logPath.replace(/\.jsonl?$/, '.svg') : `${logPath}.svg`;
}

/**
 * `headroom run` from resolved options to an exit code: find the command, pre-flight memory check, limits
 * through the best backend, supervise, report. Every path that created a cgroup removes it.
 */
export async function runJob(deps: RunDeps, req: RunRequest): Promise<number> {
  const say = (line: string): void => deps.say(`headroom run: ${line}\n`);
  const program = req.command[0];
  if (program === undefined) throw new RunInputError('no command given; usage: headroom run [options] -- CMD [ARGS...]');
  const resolved = findOnPath(program, deps.pathEnv, deps.isExecutable);
  if (resolved === undefined) {
    if (program.includes('/') && deps.exists(program)) {
      say(`${program}: permission denied (not executable)`);
      return RUN_EXIT.notExecutable;
    }
    say(`${program}: command not found${program.includes('/') ? '' : ' on PATH'}`);
    return RUN_EXIT.notFound;
  }

  // Pre-flight memory check (refuse, or wait with progress).
  let stopRequested = false;
  const stopWhileWaiting = deps.signals(() => {
    stopRequested = true;
  });
  let pre;
  try {
    pre = await preflight({
      requireBytes: req.run.require_available,
      waitMs: req.run.wait_available,
      memTotalBytes: req.memTotalBytes,
      available: () => deps.procfs.meminfo().get('MemAvailable') ?? 0,
      monotonicMs: deps.monotonicMs,
      sleep: deps.sleep,
      progress: say,
      cancelled: () => stopRequested,
      pollMs: req.waitPollMs,
    });
  } finally {
    stopWhileWaiting();
  }
  if (!pre.ok) {
    say(`refusing to start ${req.name}: ${pre.reason}`);
    return RUN_EXIT.notEnoughMemory;
  }

  const leaf = cgroupLeaf(req.name, req.runId);
  const logPath = req.logPath ?? (req.run.log_dir === undefined ? undefined : join(req.run.log_dir, `${leaf}.jsonl`));
  let log: LogSink | undefined;
  if (logPath !== undefined) {
    try {
      log = deps.openLog(logPath);
    } catch (error) {
      throw new RunInputError(
        `--log ${logPath}: cannot open for writing (${errorMessage(error)}); give a writable file (directory ${dirname(logPath)})`,
      );
    }
  }
  const writeLog = (record: Record<string, unknown>): void => log?.write(`${JSON.stringify(record)}\n`);

  let backend: JobBackend | undefined;
  let supervised = false;
  try {
    // Limits: the best backend that works here, or a refusal naming why each one cannot be used.
    let applied: AppliedLimit[] = [];
    let backendKind: BackendKind | 'none';
    const selected = selectBackend({
      io: deps.io,
      cgroupRoot: req.cgroupRoot,
      choice: req.run.backend,
      leaf,
      parent: req.run.cgroup_parent,
      limits: req.limits,
      uid: deps.uid,
      pathEnv: deps.pathEnv,
      isExecutable: deps.isExecutable,
      systemctl: deps.systemctl,
    });
    if (selected.ok) {
      backend = selected.backend;
      applied = selected.setup;
      backendKind = req.limitsEnabled ? backend.kind : 'none';
    } else if (!req.limitsEnabled) {
      backend = new NoCgroup();
      backendKind = 'none';
      say(`no cgroup available (${selected.reasons.join('; ')}); running without one: only the main process is tracked`);
    } else {
      say(`refusing to start ${req.name}: cannot apply memory limits here:\n${selected.reasons.map((r) => `  - ${r}`).join('\n')}\n  run as root or in a delegated cgroup, or pass --no-limits to run without limits`);
      return RUN_EXIT.noLimits;
    }

    say(
      `starting ${req.name} (run ${req.runId}) with ${describeLimits(req.limits)} via ${backendKind === 'none' ? 'no limit backend' : backend.kind} at ${backend.location}` +
        (req.run.timeout === undefined ? '' : `; timeout ${formatDuration(req.run.timeout)}`) +
        (logPath === undefined ? '' : `; log ${logPath}`),
    );
    for (const w of backend.warnings) say(`warning: ${w}`);
    writeLog({
      type: 'start',
      ts: deps.now().toISOString(),
      name: req.name,
      run_id: req.runId,
      command: req.command,
      backend: backendKind,
      cgroup: backend.location,
      limits: { memory_max_bytes: req.limits.memoryMaxBytes, memory_high_bytes: req.limits.memoryHighBytes, swap_max_bytes: req.limits.swapMaxBytes, cpu_quota: req.limits.cpuQuota },
      applied: applied.map((a) => ({ target: a.target, value: a.value })),
      warnings: backend.warnings,
      mem_available_bytes: pre.availableBytes,
    });

    const baseline = backend.sample();
    const samples: TimedSample[] = [];
    const hostSample = (): HostSample => {
      const mem = deps.procfs.pressure('memory');
      const cpu = deps.procfs.pressure('cpu');
      return {
        memAvailableBytes: deps.procfs.meminfo().get('MemAvailable'),
        memorySomeAvg10: mem?.some?.avg10,
        memoryFullAvg10: mem?.full?.avg10,
        cpuSomeAvg10: cpu?.some?.avg10,
      };
    };
    const job = backend;
    const result = await supervise({
      backend,
      argv: backend.wrap([resolved, ...req.command.slice(1)]),
      control: deps.control,
      signals: deps.signals,
      timeoutMs: req.run.timeout,
      graceMs: req.run.kill_grace,
      sampleMs: req.run.sample_interval,
      monotonicMs: deps.monotonicMs,
      sleep: deps.sleep,
      say,
      onTick: (elapsedMs) => {
        let sample: TimedSample;
        try {
          sample = { t: elapsedMs / 1000, ts: deps.now().toISOString(), job: job.sample(), host: hostSample() };
        } catch (error) {
          // A failed read (e.g. the cgroup vanished under us) is logged, and the run goes on.
          writeLog({ type: 'error', ts: deps.now().toISOString(), error: errorMessage(error) });
          return;
        }
        writeLog(sampleLogLine(sample, samples[samples.length - 1]));
        samples.push(sample);
      },
    });
    supervised = true;

    const stats = computeStats(samples, baseline, result.durationMs);
    const outcome = decideOutcome({ result, stats, limits: req.limits, responsiveFullPct: req.responsiveFullPct, memTotalBytes: req.memTotalBytes });
    const chartPath = logPath === undefined ? undefined : chartPathFor(logPath);
    if (chartPath !== undefined) {
      deps.writeFile(
        chartPath,
        renderMemoryChartSvg({
          title: `${req.name} (run ${req.runId}): memory over time`,
          points: samples.filter((s) => s.job.memoryBytes !== undefined).map((s) => ({ t: s.t, bytes: s.job.memoryBytes ?? 0 })),
          limitBytes: req.limits.memoryMaxBytes,
          highBytes: req.limits.memoryHighBytes,
        }),
      );
    }
    const summary: SummaryInput = {
      name: req.name,
      runId: req.runId,
      backend: backendKind,
      location: backend.location,
      limits: req.limits,
      outcome,
      stats,
      memorySeries: samples.map((s) => s.job.memoryBytes ?? 0),
      logPath,
      chartPath,
      cleanupProblems: result.cleanupProblems,
      leftovers: result.leftovers,
      responsiveFullPct: req.responsiveFullPct,
      memTotalBytes: req.memTotalBytes,
    };
    writeLog(summaryLogLine(summary));
    deps.say(renderSummary(summary));
    return outcome.exitCode;
  } finally {
    log?.close();
    // Something failed between creating the cgroup and the end of supervision: still leave nothing behind.
    if (backend !== undefined && !supervised) emergencyCleanup(backend, deps.control, say);
  }
}

function emergencyCleanup(backend: JobBackend, control: ProcessControl, say: (line: string) => void): void {
  for (const pid of backend.pids()) {
    try {
      control.kill(pid, 'SIGKILL');
    } catch (error) {
      say(`cleanup: cannot SIGKILL ${pid}: ${errorMessage(error)}`);
    }
  }
  try {
    backend.remove();
  } catch (error) {
    say(`cleanup: cannot remove ${backend.location}: ${errorMessage(error)}`);
  }
}
