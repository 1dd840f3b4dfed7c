import { basename, join } from 'node:path';
import type { RunConfig } from '../config/sections/run.js';
import { formatBytes, resolveSize } from '../config/units.js';
import type { JobLimits } from './backends/backend.js';

/** The smallest hard limit accepted: below this even a shell does not start. */
export const MIN_MEMORY_MAX_BYTES = 4 * 1024 * 1024;

/** Command-line flag ↔ run: config key. Flags are checked by the config section's own rules. */
export const RUN_FLAG_KEYS = {
  'memory-max': 'memory_max',
  'memory-high': 'memory_high',
  'swap-max': 'swap_max',
  'cpu-quota': 'cpu_quota',
  timeout: 'timeout',
  'kill-grace': 'kill_grace',
  'require-available': 'require_available',
  'wait-available': 'wait_available',
  backend: 'backend',
} as const satisfies Record<string, keyof RunConfig>;

export type LimitsResult = { ok: true; limits: JobLimits; notes: string[] } | { ok: false; problems: string[] };

/**
 * Turns the run section (percentages of MemTotal included) into byte limits, and checks the combinations one
 * flag cannot check alone. With limits off, no limits at all.
 */
export function resolveLimits(run: RunConfig, memTotalBytes: number, limitsEnabled: boolean): LimitsResult {
  if (!limitsEnabled) return { ok: true, limits: {}, notes: ['limits are off (--no-limits): the job can use the whole machine'] };
  const problems: string[] = [];
  const notes: string[] = [];
  const max = resolveSize(run.memory_max, memTotalBytes);
  const high = run.memory_high === undefined ? undefined : resolveSize(run.memory_high, memTotalBytes);
  if (max < MIN_MEMORY_MAX_BYTES) {
    problems.push(`--memory-max ${formatBytes(max)} is too small; give at least ${formatBytes(MIN_MEMORY_MAX_BYTES)} (e.g. 512M, 50G or 80%)`);
  }
  if (max > memTotalBytes) notes.push(`--memory-max ${formatBytes(max)} is above MemTotal (${formatBytes(memTotalBytes)}): it will not protect this machine`);
  if (high !== undefined && high >= max) {
    problems.push(`--memory-high ${formatBytes(high)} must be below --memory-max ${formatBytes(max)}; lower it or raise --memory-max`);
  }
  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    limits: { memoryMaxBytes: max, memoryHighBytes: high, swapMaxBytes: run.swap_max, cpuQuota: run.cpu_quota },
    notes,
  };
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,47}$/;

/** Checks a --name; undefined when fine, else the problem. */
export function checkJobName(name: string): string | undefined {
  return NAME_RE.test(name)
    ? undefined
    : `--name "${name}" is not a valid job name; use 1–48 letters, digits, "_", "." or "-", starting with a letter or digit`;
}

/** A job name from the command when none is given: "python3 train.py" → "train.py", else the program name. */
export function defaultJobName(command: readonly string[]): string {
  const program = basename(command[0] ?? 'job');
  const args = command.slice(1);
  const interpreter = /^(python[0-9.]*|node|bash|sh|dash|zsh|ruby|perl|Rscript|julia)$/.test(program);
  // "python3 -m pkg.train" → "pkg.train"; "python3 train.py" → "train.py"; "sh -c '...'" → "sh".
  const script = !interpreter
    ? undefined
    : args[0] === '-m'
      ? args[1]
      : args.includes('-c') || args.includes('-e')
        ? undefined
        : args.find((a) => !a.startsWith('-'));
  const raw = basename(script ?? program)
    .replace(/[^A-Za-z0-9_.-]+/g, '_')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 48);
  return raw.length > 0 ? raw : 'job';
}

/** The cgroup leaf name: "<name>-<run id>", e.g. "train.py-k3x9z2". */
export function cgroupLeaf(name: string, runId: string): string {
  return `${name}-${runId}`;
}

/** A short run id from random bytes (the caller supplies them, so this stays pure). */
export function runIdFrom(bytes: Uint8Array): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return Array.from(bytes.slice(0, 6), (b) => alphabet[b % alphabet.length]).join('');
}

/** Where `headroom jobs` reads run history: run.history_dir, else <remediation.state_dir>/runs. */
export function historyDir(run: RunConfig, stateDir: string): string {
  return run.history_dir ?? join(stateDir, 'runs');
}

/**
 * The resource log of a run (pure): --log, else <run.log_dir>/<leaf>.jsonl, else the history directory (so
 * history accrues without any flag), else none (history: false).
 */
export function defaultLogPath(run: RunConfig, stateDir: string, leaf: string, logFlag: string | undefined): string | undefined {
  if (logFlag !== undefined) return logFlag;
  if (run.log_dir !== undefined) return join(run.log_dir, `${leaf}.jsonl`);
  return run.history ? join(historyDir(run, stateDir), `${leaf}.jsonl`) : undefined;
}
