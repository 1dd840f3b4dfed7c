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
 * The systemd-run argv for a job: a transient scope in headroom.slice. In --scope mode systemd-run creates the
 * scope with its own PID inside and then execs the command, so the process headroom spawned *is* the job, in
 * its limits before any of its code runs. --collect lets systemd remove the unit even when the job failed.
 */
export function systemdRunArgv(systemdRun: string, unit: string, limits: JobLimits, command: readonly string[], uid: number): string[] {
  return [
    systemdRun,
    ...(uid === 0 ? [] : ['--user']),
    '--scope',
    '--quiet',
    '--collect',
    `--unit=${unit}`,
    '--slice=headroom.slice',
    ...systemdProperties(limits).flatMap((p) => ['--property', p]),
    '--',
    ...command,
  ];
}

/**
 * systemd: limits are properties of a transient scope. Accounting is read from the scope's cgroup, which
 * systemd places at <v2 root>/headroom.slice/<unit>.scope (for root's system manager).
 */
export class SystemdBackend implements JobBackend {
  readonly kind = 'systemd' as const;
  readonly warnings: string[] = [];
  readonly location: string;
  readonly unit: string;

  constructor(
    private readonly io: CgroupIo,
    private readonly systemdRun: string,
    /** The cgroup v2 root systemd manages (normally /sys/fs/cgroup). */
    v2Root: string,
    /** "<name>-<run id>" */
    leaf: string,
    private readonly limits: JobLimits,
    private readonly uid: number,
  ) {
    this.unit = `${leaf}.scope`;
    // The system manager's slices sit at the root; a user manager's under its user@UID.service.
    const base = uid === 0 ? v2Root : join(v2Root, 'user.slice', `user-${uid}.slice`, `user@${uid}.service`);
    this.location = join(base, 'headroom.slice', this.unit);
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
    return systemdRunArgv(this.systemdRun, this.unit, this.limits, command, this.uid);
  }

  pids(): number[] {
    return parseProcs(this.io.read(join(this.location, 'cgroup.procs')));
  }

  sample(): JobSample {
    return sampleV2(this.io, this.location);
  }

  remove(): void {
    // systemd removes an empty transient scope itself (and --collect drops the unit even after a failure).
  }
}
