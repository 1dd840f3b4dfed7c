import { join } from 'node:path';
import { parseProcs, type AppliedLimit, type CgroupIo, type JobBackend, type JobLimits, type JobSample } from './backend.js';
import { sampleV2 } from './cgroup-v2.js';

/** Is systemd PID 1? The same test as sd_booted(3): /run/systemd/system exists. */
export function systemdBooted(io: CgroupIo, runDir = '/run/systemd/system'): boolean {
  return io.isDir(runDir);
}

/** Finds an executable on PATH (pure over the given lookup), like `command -v` (src/domain/executables.ts). */
export { findOnPath } from '../../domain/executables.js';

/** systemd properties for the limits, in the order they are passed ("MemoryMax=53687091200"). */
export function systemdProperties(limits: JobLimits): string[] {
  const props: string[] = [];
  if (limits.memoryMaxBytes !== undefined) props.push(`MemoryMax=${limits.memoryMaxBytes}`);
  if (limits.memoryHighBytes !== undefined) props.push(`MemoryHigh=${limits.memoryHighBytes}`);
  if (limits.swapMaxBytes !== undefined) props.push(`MemorySwapMax=${limits.swapMaxBytes}`);
  // CPUQuota takes a percentage of one CPU; systemd accepts values above 100% for several CPUs.
  if (limits.cpuQuota !== undefined) props.push(`CPUQuota=${Math.max(1, Math.round(limits.cpuQuota * 100))}%`);
  return props;
}

/**
 * The per-job slice a job's scope runs in: "headroom-<leaf>.slice", with the leaf's "-" turned into "_" (in a
 * slice name every "-" opens one more level: headroom-train-x.slice would sit in headroom-train.slice).
 */
export function jobSliceName(leaf: string): string {
  return `headroom-${leaf.replace(/-/g, '_')}.slice`;
}

/**
 * The systemd-run argv for a job: a transient scope in its own slice under headroom.slice. In --scope mode
 * systemd-run creates the scope with its own PID inside and then execs the command, so the process headroom
 * spawned *is* the job, in its limits before any of its code runs. --collect lets systemd remove the unit even
 * when the job failed.
 */
export function systemdRunArgv(systemdRun: string, unit: string, limits: JobLimits, command: readonly string[], uid: number, slice = 'headroom.slice'): string[] {
  return [
    systemdRun,
    ...(uid === 0 ? [] : ['--user']),
    '--scope',
    '--quiet',
    '--collect',
    `--unit=${unit}`,
    `--slice=${slice}`,
    ...systemdProperties(limits).flatMap((p) => ['--property', p]),
    '--',
    ...command,
  ];
}

/** Runs systemctl with these arguments (for the system or, with user, the user manager); throws when it fails. */
export type Systemctl = (args: readonly string[]) => void;

/**
 * systemd: limits are properties of a transient scope, <leaf>.scope, in a slice of its own,
 * headroom.slice/headroom-<leaf>.slice.
 *
 * Why the slice of its own: systemd removes a scope's cgroup the moment its last process exits (and stops the
 * whole scope when the kernel OOM-kills one of its processes), so the scope's memory.events and memory.peak are
 * gone before headroom can read them once the job is over: an OOM-killed job would read as "killed by SIGKILL;
 * OOM kills 0" with the peak of the last sample. The job's slice holds only the job's scope and outlives it (a
 * slice stays until it is stopped), and cgroup v2 accounts hierarchically: the slice's memory.events (max, high,
 * oom_kill), memory.peak, memory.stat and cpu.stat are the job's own, readable after it ended. headroom stops
 * the slice when the run is over (remove()), so no unit is left behind.
 */
export class SystemdBackend implements JobBackend {
  readonly kind = 'systemd' as const;
  readonly warnings: string[] = [];
  readonly location: string;
  readonly unit: string;
  readonly slice: string;
  /** The job slice's cgroup, where the accounting is read. */
  readonly sliceDir: string;

  constructor(
    private readonly io: CgroupIo,
    private readonly systemdRun: string,
    /** The cgroup v2 root systemd manages (normally /sys/fs/cgroup). */
    v2Root: string,
    /** "<name>-<run id>" */
    leaf: string,
    private readonly limits: JobLimits,
    private readonly uid: number,
    /** Stops the job's slice at the end; without it the (empty) slice unit stays loaded. */
    private readonly systemctl?: Systemctl,
  ) {
    this.unit = `${leaf}.scope`;
    this.slice = jobSliceName(leaf);
    // The system manager's slices sit at the root; a user manager's under its user@UID.service.
    const base = uid === 0 ? v2Root : join(v2Root, 'user.slice', `user-${uid}.slice`, `user@${uid}.service`);
    this.sliceDir = join(base, 'headroom.slice', this.slice);
    this.location = join(this.sliceDir, this.unit);
    if (uid !== 0) this.warnings.push('running as a user: limits apply through the user manager (needs cgroup delegation)');
  }

  setup(): AppliedLimit[] {
    // Nothing to create: systemd-run creates the scope when the job starts. The properties are what applies.
    return systemdProperties(this.limits).map((p) => {
      const eq = p.indexOf('=');
      return { target: `${this.unit} ${p.slice(0, eq)}`, value: p.slice(eq + 1) };
    });
  }

  wrap(command: readonly string[]): readonly string[] {
    return systemdRunArgv(this.systemdRun, this.unit, this.limits, command, this.uid, this.slice);
  }

  pids(): number[] {
    return parseProcs(this.io.read(join(this.location, 'cgroup.procs')));
  }

  sample(): JobSample {
    // The slice's counters are the scope's (its only child) and survive the scope; the process count is the scope's.
    return { ...sampleV2(this.io, this.sliceDir), processes: this.pids().length };
  }

  remove(): void {
    // systemd removes the empty scope itself (--collect drops the unit even after a failure); the job's slice
    // stays until stopped.
    if (this.systemctl === undefined || !this.io.isDir(this.sliceDir)) return;
    this.systemctl([...(this.uid === 0 ? [] : ['--user']), 'stop', this.slice]);
  }
}
