import { readFileSync, readdirSync } from 'node:fs';

/** CLK_TCK: 100 on every Linux architecture Node supports (see src/cli/kernel-units.ts). */
export const CLOCK_TICKS_PER_SECOND = 100;

/** The fields of /proc/PID/stat the benchmark needs, or undefined when the process is gone. */
export interface StatTimes {
  /** One-letter state (R, S, D, Z, ...). */
  readonly state: string;
  readonly cpuTicks: number;
  readonly startTicks: number;
}

function isGone(error: unknown): boolean {
  const code = typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined;
  return code === 'ENOENT' || code === 'ESRCH';
}

/** utime+stime (all threads) and start time of a process, in clock ticks; undefined if it has exited. */
export function statTimes(pid: number): StatTimes | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (error) {
    if (isGone(error)) return undefined;
    throw error;
  }
  // Fields after the last ')' start at field 3 (state); utime is 14, stime 15, starttime 22 (proc(5)).
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const field = (n: number): number => {
    const v = Number(rest[n - 3]);
    if (!Number.isFinite(v)) throw new Error(`/proc/${pid}/stat: field ${n} is not a number`);
    return v;
  };
  return { state: rest[0] ?? '?', cpuTicks: field(14) + field(15), startTicks: field(22) };
}

/** VmRSS (resident now) and VmHWM (peak resident) of a process in bytes, or undefined if it has exited. */
export function residentBytes(pid: number): { readonly rss: number; readonly peak: number } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch (error) {
    if (isGone(error)) return undefined;
    throw error;
  }
  const kB = (field: string): number => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(text);
    if (!m?.[1]) throw new Error(`/proc/${pid}/status has no ${field} line`);
    return Number(m[1]) * 1024;
  };
  return { rss: kB('VmRSS'), peak: kB('VmHWM') };
}

/** PIDs of all processes (numeric entries of /proc). */
export function allPids(): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    const c = name.charCodeAt(0);
    if (c >= 48 && c <= 57) out.push(Number(name));
  }
  return out;
}

/** Total number of tasks (threads included: every task uses a PID), from /proc/loadavg. */
export function taskCount(): number {
  const m = /\d+\/(\d+)/.exec(readFileSync('/proc/loadavg', 'utf8'));
  if (!m?.[1]) throw new Error('/proc/loadavg has no running/total field');
  return Number(m[1]);
}

export interface PidBudget {
  /** How many more tasks may be created before some limit is hit. */
  readonly available: number;
  /** Each limit considered, for the printout. */
  readonly limits: readonly string[];
}

function readTrimmed(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (error) {
    if (isGone(error)) return undefined;
    throw error;
  }
}

/**
 * How many new tasks this process may create: kernel.pid_max and kernel.threads-max minus the current task
 * count, the pids cgroup (v1 and v2, every ancestor of our cgroup that has pids.max), and RLIMIT_NPROC when
 * not root (root is exempt).
 */
export function pidBudget(): PidBudget {
  const tasks = taskCount();
  const limits: string[] = [];
  let available = Number.POSITIVE_INFINITY;
  const consider = (label: string, room: number): void => {
    limits.push(`${label}: room for ${room}`);
    available = Math.min(available, room);
  };
  const pidMax = Number(readTrimmed('/proc/sys/kernel/pid_max'));
  if (Number.isFinite(pidMax)) consider(`kernel.pid_max ${pidMax}, ${tasks} tasks`, pidMax - tasks);
  const threadsMax = Number(readTrimmed('/proc/sys/kernel/threads-max'));
  if (Number.isFinite(threadsMax)) consider(`kernel.threads-max ${threadsMax}`, threadsMax - tasks);
  for (const line of readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
    const [, controllers, path] = /^\d+:([^:]*):(.*)$/.exec(line) ?? [];
    if (path === undefined || controllers === undefined) continue;
    const mounts = controllers === '' ? ['/sys/fs/cgroup', '/sys/fs/cgroup/unified'] : controllers.split(',').includes('pids') ? ['/sys/fs/cgroup/pids'] : [];
    for (const mount of mounts) {
      const parts = path.split('/').filter((p) => p !== '');
      for (let depth = parts.length; depth >= 0; depth--) {
        const dir = [mount, ...parts.slice(0, depth)].join('/');
        const max = readTrimmed(`${dir}/pids.max`);
        if (max === undefined || max === 'max') continue;
        const current = Number(readTrimmed(`${dir}/pids.current`) ?? '0');
        consider(`${dir}/pids.max ${max}, current ${current}`, Number(max) - current);
      }
    }
  }
  if (process.getuid?.() !== 0) {
    const m = /^Max processes\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (m?.[1] && m[1] !== 'unlimited') consider(`RLIMIT_NPROC ${m[1]} (counts this user's tasks; ${tasks} tasks in total)`, Number(m[1]) - tasks);
  }
  return { available, limits };
}

/** MemAvailable in bytes. */
export function memAvailableBytes(): number {
  const m = /^MemAvailable:\s+(\d+) kB$/m.exec(readFileSync('/proc/meminfo', 'utf8'));
  if (!m?.[1]) throw new Error('/proc/meminfo has no MemAvailable');
  return Number(m[1]) * 1024;
}

/** The scheduler's view of one task (its main thread), or undefined if it has exited. */
export interface SchedStats {
  /** Time on a CPU and time runnable but waiting for one (/proc/PID/schedstat), ns. */
  readonly runNs: number;
  readonly waitNs: number;
  /** Context switches: the task blocked itself (voluntary) or was preempted (involuntary), /proc/PID/status. */
  readonly voluntary: number;
  readonly involuntary: number;
  /** Nice value (/proc/PID/stat field 19). */
  readonly nice: number;
}

export function schedStats(pid: number): SchedStats | undefined {
  let sched: string;
  let status: string;
  let stat: string;
  try {
    sched = readFileSync(`/proc/${pid}/schedstat`, 'utf8');
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (error) {
    if (isGone(error)) return undefined;
    throw error;
  }
  const [run, wait] = sched.trim().split(/\s+/).map(Number);
  const count = (field: string): number => {
    const m = new RegExp(`^${field}:\\s+(\\d+)$`, 'm').exec(status);
    if (!m?.[1]) throw new Error(`/proc/${pid}/status has no ${field} line`);
    return Number(m[1]);
  };
  const nice = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19 - 3]);
  if (!Number.isFinite(run) || !Number.isFinite(wait) || !Number.isFinite(nice)) throw new Error(`/proc/${pid}/schedstat or stat: not numbers`);
  return { runNs: run ?? 0, waitNs: wait ?? 0, voluntary: count('voluntary_ctxt_switches'), involuntary: count('nonvoluntary_ctxt_switches'), nice };
}
