import { join } from 'node:path';
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

/** The v1 hierarchies a job joins; cpu and cpuacct are often one mount (cpu,cpuacct), then listed once. */
export interface V1Hierarchies {
  readonly memory: string;
  readonly cpu?: string;
  readonly cpuacct?: string;
}

/** CFS period used for the quota: 100 ms, the kernel's and systemd's default. */
export const CFS_PERIOD_US = 100_000;

/** Finds the writable-looking v1 hierarchies under a cgroupfs root, or the reason there are none. */
export function detectV1(io: CgroupIo, cgroupRoot: string): V1Hierarchies | string {
  const memory = join(cgroupRoot, 'memory');
  if (io.read(join(memory, 'memory.limit_in_bytes')) === undefined) return `no cgroup v1 memory controller at ${memory}`;
  const real = (p: string): string | undefined => (io.isDir(p) ? io.realpath(p) : undefined);
  const cpu = real(join(cgroupRoot, 'cpu'));
  const cpuacctDir = real(join(cgroupRoot, 'cpuacct'));
  const cpuOk = cpu !== undefined && io.read(join(cpu, 'cpu.cfs_quota_us')) !== undefined ? cpu : undefined;
  const cpuacct = cpuacctDir !== undefined && cpuacctDir !== cpuOk && io.read(join(cpuacctDir, 'cpuacct.usage')) !== undefined ? cpuacctDir : undefined;
  return { memory: io.realpath(memory), cpu: cpuOk, cpuacct };
}

/**
 * cgroup v1: the job gets <hierarchy>/headroom.slice/<leaf> in the memory hierarchy (and cpu, cpuacct when
 * mounted). memory.limit_in_bytes is the hard limit; memory.memsw.limit_in_bytes (where swap accounting is on)
 * bounds memory + swap; v1 has no memory.high, so --memory-high becomes memory.soft_limit_in_bytes (reclaimed
 * first under contention); the CPU quota is cpu.cfs_quota_us over a 100 ms period.
 */
export class CgroupV1Backend implements JobBackend {
  readonly kind = 'cgroup-v1' as const;
  readonly warnings: string[] = [];
  private readonly dirs: { memory: string; cpu?: string; cpuacct?: string };

  constructor(
    private readonly io: CgroupIo,
    hierarchies: V1Hierarchies,
    /** "headroom.slice/<name>-<run id>" */
    private readonly rel: string,
    private readonly limits: JobLimits,
  ) {
    this.dirs = {
      memory: join(hierarchies.memory, rel),
      cpu: hierarchies.cpu === undefined ? undefined : join(hierarchies.cpu, rel),
      cpuacct: hierarchies.cpuacct === undefined ? undefined : join(hierarchies.cpuacct, rel),
    };
  }

  get location(): string {
    return this.dirs.memory;
  }

  private allDirs(): string[] {
    return [this.dirs.memory, this.dirs.cpu, this.dirs.cpuacct].filter((d): d is string => d !== undefined);
  }

  setup(): AppliedLimit[] {
    const applied: AppliedLimit[] = [];
    const write = (dir: string, file: string, value: string): void => {
      const target = join(dir, file);
      this.io.write(target, value);
      applied.push({ target, value });
    };
    const mem = this.dirs.memory;
    try {
      this.io.mkdir(mem);
    } catch (error) {
      throw new Error(describeSetupFailure(mem, error), { cause: error });
    }
    const { memoryMaxBytes, memoryHighBytes, swapMaxBytes, cpuQuota } = this.limits;
    if (memoryMaxBytes !== undefined) {
      write(mem, 'memory.limit_in_bytes', String(memoryMaxBytes));
      if (this.io.read(join(mem, 'memory.memsw.limit_in_bytes')) !== undefined) {
        // memsw bounds memory + swap, so it is written after (and never below) memory.limit_in_bytes.
        if (swapMaxBytes !== undefined) write(mem, 'memory.memsw.limit_in_bytes', String(memoryMaxBytes + swapMaxBytes));
      } else if (swapMaxBytes !== undefined) {
        this.warnings.push('swap is not limited: this kernel has no memory.memsw.* (boot with swapaccount=1)');
      }
    }
    if (memoryHighBytes !== undefined) write(mem, 'memory.soft_limit_in_bytes', String(memoryHighBytes));
    for (const dir of [this.dirs.cpu, this.dirs.cpuacct]) {
      if (dir === undefined) continue;
      try {
        this.io.mkdir(dir);
      } catch (error) {
        throw new Error(describeSetupFailure(dir, error), { cause: error });
      }
    }
    if (cpuQuota !== undefined) {
      if (this.dirs.cpu === undefined) {
        this.warnings.push('CPU quota not applied: no cgroup v1 cpu controller with cpu.cfs_quota_us');
      } else {
        write(this.dirs.cpu, 'cpu.cfs_period_us', String(CFS_PERIOD_US));
        write(this.dirs.cpu, 'cpu.cfs_quota_us', String(Math.max(1000, Math.round(cpuQuota * CFS_PERIOD_US))));
      }
    }
    return applied;
  }

  wrap(command: readonly string[]): readonly string[] {
    return joinCgroupsArgv(
      this.allDirs().map((d) => join(d, 'cgroup.procs')),
      command,
    );
  }

  pids(): number[] {
    return parseProcs(this.io.read(join(this.dirs.memory, 'cgroup.procs')));
  }

  sample(): JobSample {
    const mem = this.dirs.memory;
    const stat = readKeyed(this.io, join(mem, 'memory.stat'));
    const oom = readKeyed(this.io, join(mem, 'memory.oom_control'));
    const usage = readNumber(this.io, join(mem, 'memory.usage_in_bytes'));
    const memsw = readNumber(this.io, join(mem, 'memory.memsw.usage_in_bytes'));
    const cpuStat = this.dirs.cpu === undefined ? new Map<string, number>() : readKeyed(this.io, join(this.dirs.cpu, 'cpu.stat'));
    const acct = this.dirs.cpuacct ?? this.dirs.cpu;
    const cpuNs = acct === undefined ? undefined : readNumber(this.io, join(acct, 'cpuacct.usage'));
    const throttledNs = cpuStat.get('throttled_time');
    return {
      memoryBytes: usage,
      anonBytes: stat.get('total_rss') ?? stat.get('rss'),
      peakBytes: readNumber(this.io, join(mem, 'memory.max_usage_in_bytes')),
      swapBytes: stat.get('total_swap') ?? (memsw !== undefined && usage !== undefined ? Math.max(0, memsw - usage) : undefined),
      cpuSeconds: cpuNs === undefined ? undefined : cpuNs / 1e9,
      throttledPeriods: cpuStat.get('nr_throttled'),
      throttledSeconds: throttledNs === undefined ? undefined : throttledNs / 1e9,
      // With memsw at the same value as the memory limit, the kernel may count the hit on memsw.failcnt.
      limitHits: maxDefined(readNumber(this.io, join(mem, 'memory.failcnt')), readNumber(this.io, join(mem, 'memory.memsw.failcnt'))),
      oomKills: oom.get('oom_kill'),
      processes: this.pids().length,
    };
  }

  remove(): void {
    // Children of the job's dirs would be the job's own sub-cgroups; v1 rmdir fails with EBUSY while any exist.
    for (const dir of this.allDirs()) {
      if (this.io.isDir(dir)) this.io.rmdir(dir);
    }
  }
}

function maxDefined(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined ? b : b === undefined ? a : Math.max(a, b);
}
