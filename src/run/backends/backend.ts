import { closeSync, mkdirSync, openSync, readFileSync, readdirSync, realpathSync, rmdirSync, statSync, writeSync } from 'node:fs';
import { errorCode } from '../../procfs/file-reader.js';

/** The limits a job runs under, in kernel units (bytes; CPU as a share of one CPU: 1.5 = 150 %). */
export interface JobLimits {
  readonly memoryMaxBytes?: number;
  readonly memoryHighBytes?: number;
  /** Swap the job may use on top of memoryMaxBytes; 0 = none. */
  readonly swapMaxBytes?: number;
  readonly cpuQuota?: number;
}

export type BackendKind = 'systemd' | 'cgroup-v2' | 'cgroup-v1';

/** One limit as it was applied: a file and the value written, or a systemd-run property. */
export interface AppliedLimit {
  readonly target: string;
  readonly value: string;
}

/** The job's cgroup accounting at one moment. Counters are cumulative since the cgroup was created. */
export interface JobSample {
  readonly memoryBytes?: number;
  readonly anonBytes?: number;
  /** The kernel's own high-water mark (v1 max_usage_in_bytes, v2 memory.peak), when it keeps one. */
  readonly peakBytes?: number;
  readonly swapBytes?: number;
  readonly cpuSeconds?: number;
  readonly throttledPeriods?: number;
  readonly throttledSeconds?: number;
  /** Times the job's usage hit the hard limit (v1 memory.failcnt, v2 memory.events max). */
  readonly limitHits?: number;
  /** v2 memory.events high: times the job was throttled above memory.high. */
  readonly highEvents?: number;
  /** Processes the kernel OOM killer killed inside the job's cgroup. */
  readonly oomKills?: number;
  /** PSI of the job's cgroup (v2) in percent, avg10. */
  readonly pressure?: { readonly memorySome: number; readonly memoryFull?: number; readonly cpuSome?: number };
  readonly processes: number;
}

/**
 * One way to put a job under limits. Lifecycle: setup() → wrap() the command → spawn it → sample() while it
 * runs → signalAll() to stop it → remove() once it is empty.
 */
export interface JobBackend {
  readonly kind: BackendKind;
  /** Where the job's cgroup lives, for people ("/sys/fs/cgroup/memory/headroom.slice/train-k3x9z"). */
  readonly location: string;
  /** Creates the job's cgroup(s) and writes the limits; returns exactly what was applied. */
  setup(): AppliedLimit[];
  /** Things the backend could not apply (e.g. no swap accounting), for the start message. */
  readonly warnings: readonly string[];
  /** The argv to spawn so the command starts inside the job's cgroup before it runs any code of its own. */
  wrap(command: readonly string[]): readonly string[];
  /** PIDs of every process in the job's cgroup (empty when the cgroup is gone). */
  pids(): number[];
  sample(): JobSample;
  /** Removes the job's cgroup(s); throws when they still hold processes. */
  remove(): void;
}

/** The file operations the cgroup backends need; the real file system in production and in fake-tree tests. */
export interface CgroupIo {
  /** The file's text, or undefined when it does not exist. */
  read(path: string): string | undefined;
  /** Writes a value to a control file (a single write, as the kernel expects). */
  write(path: string, value: string): void;
  mkdir(path: string): void;
  rmdir(path: string): void;
  isDir(path: string): boolean;
  listDir(path: string): string[];
  realpath(path: string): string;
}

/** A control-file write that failed, with the file, the value and the kernel's answer. */
export class CgroupWriteError extends Error {
  constructor(
    readonly path: string,
    readonly value: string,
    readonly code: string | undefined,
    reason: string,
  ) {
    super(`cannot write "${value}" to ${path}: ${reason}`);
    this.name = 'CgroupWriteError';
  }
}

export function nodeCgroupIo(): CgroupIo {
  return {
    read(path) {
      try {
        return readFileSync(path, 'utf8');
      } catch (error) {
        const code = errorCode(error);
        if (code === 'ENOENT' || code === 'ENODEV') return undefined;
        throw error;
      }
    },
    write(path, value) {
      let fd: number;
      try {
        fd = openSync(path, 'w');
      } catch (error) {
        throw new CgroupWriteError(path, value, errorCode(error), error instanceof Error ? error.message : String(error));
      }
      try {
        writeSync(fd, value);
      } catch (error) {
        throw new CgroupWriteError(path, value, errorCode(error), error instanceof Error ? error.message : String(error));
      } finally {
        closeSync(fd);
      }
    },
    mkdir(path) {
      mkdirSync(path, { recursive: true });
    },
    rmdir(path) {
      rmdirSync(path);
    },
    isDir(path) {
      try {
        return statSync(path).isDirectory();
      } catch (error) {
        if (errorCode(error) === 'ENOENT') return false;
        throw error;
      }
    },
    listDir(path) {
      return readdirSync(path);
    },
    realpath(path) {
      return realpathSync(path);
    },
  };
}

/** Parses cgroup.procs ("123\n456\n") into PIDs. */
export function parseProcs(text: string | undefined): number[] {
  if (text === undefined) return [];
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^\d+$/.test(l))
    .map(Number);
}

/**
 * The wrapper that moves a job into its cgroup before it runs any code of its own.
 *
 * Why a shell and not "spawn, then write the PID to cgroup.procs": the latter races — between spawn and the
 * write the job may already have forked children (or allocated), and those would stay outside the limit.
 * Node cannot run code between fork and exec, so a fixed, tiny /bin/sh script does it instead: it writes its
 * own PID ($$) to each cgroup.procs file, then execs the command in place (same PID, now inside the cgroup,
 * and every child it forks inherits the cgroup). The script text is constant; the procs files and the
 * command come in as positional parameters, never interpolated into the script, so no quoting can break it.
 * "--" separates the procs files from the command. If a write fails, the job never runs: exit 125.
 */
export const JOIN_SCRIPT =
  'while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do echo $$ > "$1" || { echo "headroom run: cannot join cgroup ($1)" >&2; exit 125; }; shift; done; shift; exec "$@"';

export function joinCgroupsArgv(procsFiles: readonly string[], command: readonly string[]): string[] {
  return ['/bin/sh', '-c', JOIN_SCRIPT, 'headroom-run', ...procsFiles, '--', ...command];
}

/** Reads a number file, or undefined when absent/empty/"max". */
export function readNumber(io: CgroupIo, path: string): number | undefined {
  const text = io.read(path)?.trim();
  if (text === undefined || text === '' || text === 'max') return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

/** "key value" lines of a cgroup file as a map (empty when absent). */
export function readKeyed(io: CgroupIo, path: string): Map<string, number> {
  const out = new Map<string, number>();
  const text = io.read(path);
  if (text === undefined) return out;
  for (const line of text.split('\n')) {
    const [key, value] = line.trim().split(/\s+/);
    if (key === undefined || value === undefined) continue;
    const n = Number(value);
    if (Number.isFinite(n)) out.set(key, n);
  }
  return out;
}

/** Why a cgroup directory could not be created, worded for people. */
export function describeSetupFailure(dir: string, error: unknown): string {
  const code = errorCode(error) ?? (error instanceof CgroupWriteError ? error.code : undefined);
  const detail = error instanceof Error ? error.message : String(error);
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return `cannot create or configure ${dir} (${code}): needs root or a delegated cgroup`;
  }
  return `cannot create or configure ${dir}: ${detail}`;
}
