import { dirname, join } from 'node:path';
import {
  describeSetupFailure,
  joinCgroupsArgv,
  parseProcs,
  readKeyed,
  readNumber,
  type AppliedLimit,
  type CgroupIo,
  type JobBackend,
  type JobLimits,
  type JobSample,
} from './backend.js';
import { CFS_PERIOD_US } from './cgroup-v1.js';

/** The cgroup v2 mount that has the memory controller (pure v2 root, or unified/ on hybrid), or the reason. */
export function detectV2(io: CgroupIo, cgroupRoot: string): string | { root: string } {
  for (const dir of [cgroupRoot, join(cgroupRoot, 'unified')]) {
    const controllers = io.read(join(dir, 'cgroup.controllers'));
    if (controllers !== undefined && controllers.split(/\s+/).includes('memory')) return { root: dir };
  }
  return `no cgroup v2 hierarchy with the memory controller under ${cgroupRoot}`;
}

function controllersOf(io: CgroupIo, dir: string): string[] {
  return (io.read(join(dir, 'cgroup.controllers')) ?? '').split(/\s+/).filter((c) => c.length > 0);
}

/**
 * Processes the kernel OOM killer killed, from memory.events. With memory.oom.group = 1 the kernel counts the
 * chosen victim twice: once when it is picked (oom_kill) and again when the whole group is killed, which counts
 * every member that still has its memory, the victim included, and adds one oom_group_kill. Kernel 6.1 shows
 * `oom_kill 2, oom_group_kill 1` for a one-process job and `oom_kill 4, oom_group_kill 1` for a parent and two
 * workers (oom.group = 0 gives 1 per victim). So each group kill adds one extra count — unless the victim
 * already exited when the group was walked (seen under TCG: `oom_kill 3` for those three processes), then the
 * count is one low. Never below one per group kill, so a group-killed job always reads as killed by the kernel.
 */
export function oomKillsFromEvents(events: ReadonlyMap<string, number>): number | undefined {
  const kills = events.get('oom_kill');
  if (kills === undefined) return undefined;
  const groupKills = events.get('oom_group_kill') ?? 0;
  return Math.max(kills - groupKills, groupKills);
}

/** Reads one cgroup v2 directory into a JobSample (shared with the systemd backend, whose scopes are v2). */
export function sampleV2(io: CgroupIo, dir: string): JobSample {
  const stat = readKeyed(io, join(dir, 'memory.stat'));
  const events = readKeyed(io, join(dir, 'memory.events'));
  const cpu = readKeyed(io, join(dir, 'cpu.stat'));
  const usage = cpu.get('usage_usec');
  const throttled = cpu.get('throttled_usec');
  const pressure = (file: string, line: 'some' | 'full'): number | undefined => {
    const text = io.read(join(dir, file));
    const m = text === undefined ? null : new RegExp(`^${line} avg10=([0-9.]+)`, 'm').exec(text);
    return m ? Number(m[1]) : undefined;
  };
  const memorySome = pressure('memory.pressure', 'some');
  return {
    memoryBytes: readNumber(io, join(dir, 'memory.current')),
    anonBytes: stat.get('anon'),
    peakBytes: readNumber(io, join(dir, 'memory.peak')),
    swapBytes: readNumber(io, join(dir, 'memory.swap.current')),
    cpuSeconds: usage === undefined ? undefined : usage / 1e6,
    throttledPeriods: cpu.get('nr_throttled'),
    throttledSeconds: throttled === undefined ? undefined : throttled / 1e6,
    limitHits: events.get('max'),
    highEvents: events.get('high'),
    oomKills: oomKillsFromEvents(events),
    pressure:
      memorySome === undefined
        ? undefined
        : { memorySome, memoryFull: pressure('memory.pressure', 'full'), cpuSome: pressure('cpu.pressure', 'some') },
    processes: parseProcs(io.read(join(dir, 'cgroup.procs'))).length,
  };
}

/**
 * cgroup v2: the job gets <root>/headroom.slice/<leaf> with memory.max, memory.high, memory.swap.max, cpu.max
 * and memory.oom.group = 1 (an OOM kill takes the whole job, not one worker, so no half-dead job remains).
 * The memory (and cpu) controllers are enabled down the path through cgroup.subtree_control.
 */
export class CgroupV2Backend implements JobBackend {
  readonly kind = 'cgroup-v2' as const;
  readonly warnings: string[] = [];
  readonly location: string;

  constructor(
    private readonly io: CgroupIo,
    private readonly root: string,
    /** "headroom.slice/<name>-<run id>" */
    rel: string,
    private readonly limits: JobLimits,
  ) {
    this.location = join(root, rel);
  }

  setup(): AppliedLimit[] {
    const applied: AppliedLimit[] = [];
    const write = (target: string, value: string): void => {
      this.io.write(target, value);
      applied.push({ target, value });
    };
    const dir = this.location;
    const wantCpu = this.limits.cpuQuota !== undefined;
    try {
      // Enable the controllers from the root down to the slice, so the job's directory gets memory.* / cpu.*.
      const chain: string[] = [];
      for (let d = dirname(dir); d.length >= this.root.length; d = dirname(d)) {
        chain.unshift(d);
        if (d === this.root) break;
      }
      for (const parent of chain) {
        if (parent !== this.root) this.io.mkdir(parent);
        const available = controllersOf(this.io, parent);
        const wanted = ['memory', ...(wantCpu ? ['cpu'] : [])].filter((c) => available.includes(c));
        const enabled = (this.io.read(join(parent, 'cgroup.subtree_control')) ?? '').split(/\s+/);
        const missing = wanted.filter((c) => !enabled.includes(c));
        if (missing.length > 0) write(join(parent, 'cgroup.subtree_control'), missing.map((c) => `+${c}`).join(' '));
      }
      this.io.mkdir(dir);
    } catch (error) {
      throw new Error(describeSetupFailure(dir, error), { cause: error });
    }
    const { memoryMaxBytes, memoryHighBytes, swapMaxBytes, cpuQuota } = this.limits;
    if (memoryMaxBytes !== undefined) write(join(dir, 'memory.max'), String(memoryMaxBytes));
    if (memoryHighBytes !== undefined) write(join(dir, 'memory.high'), String(memoryHighBytes));
    if (swapMaxBytes !== undefined) {
      if (this.io.read(join(dir, 'memory.swap.max')) !== undefined) write(join(dir, 'memory.swap.max'), String(swapMaxBytes));
      else this.warnings.push('swap is not limited: this kernel has no memory.swap.max (swap accounting off)');
    }
    if (cpuQuota !== undefined) {
      if (this.io.read(join(dir, 'cpu.max')) !== undefined) {
        write(join(dir, 'cpu.max'), `${Math.max(1000, Math.round(cpuQuota * CFS_PERIOD_US))} ${CFS_PERIOD_US}`);
      } else {
        this.warnings.push('CPU quota not applied: the cpu controller is not available to this cgroup');
      }
    }
    write(join(dir, 'memory.oom.group'), '1');
    return applied;
  }

  wrap(command: readonly string[]): readonly string[] {
    return joinCgroupsArgv([join(this.location, 'cgroup.procs')], command);
  }

  pids(): number[] {
    return parseProcs(this.io.read(join(this.location, 'cgroup.procs')));
  }

  sample(): JobSample {
    return sampleV2(this.io, this.location);
  }

  remove(): void {
    if (this.io.isDir(this.location)) this.io.rmdir(this.location);
  }
}
