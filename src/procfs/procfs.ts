import { join } from 'node:path';
import type { FileReader } from './file-reader.js';
import { parseFlatKeyed, parseSingleNumber } from './parse/keyed.js';
import { parseMeminfo, type Meminfo } from './parse/meminfo.js';
import { parsePidStat, type PidStat } from './parse/pid-stat.js';
import { parsePidStatus, type PidStatus } from './parse/pid-status.js';
import { parseCmdline, parsePidCgroup, parseSmapsRollupPss, type PidCgroupLine } from './parse/pid-misc.js';
import { parsePressure, type Pressure } from './parse/pressure.js';
import { parseProcStat, type ProcStat } from './parse/proc-stat.js';

export type PressureResource = 'memory' | 'cpu' | 'io';

/** Machine constants needed to turn /proc units into bytes and seconds. */
export interface KernelUnits {
  /** sysconf(_SC_PAGESIZE); 4096 on x86-64 and most arm64 kernels. */
  readonly pageSizeBytes: number;
  /** sysconf(_SC_CLK_TCK); 100 on every Linux architecture headroom supports. */
  readonly clockTicksPerSecond: number;
}

export const DEFAULT_KERNEL_UNITS: KernelUnits = { pageSizeBytes: 4096, clockTicksPerSecond: 100 };

/**
 * Typed access to a procfs mounted at `root` (normally /proc; a fixture tree in tests). Reads through the
 * given FileReader and parses with the pure parsers in ./parse. Methods throw on failure; callers decide
 * whether a failure is fatal (meminfo) or skipped and counted (a process that exited).
 */
export class ProcFs {
  constructor(
    readonly root: string,
    private readonly files: FileReader,
    readonly units: KernelUnits = DEFAULT_KERNEL_UNITS,
  ) {}

  path(...parts: string[]): string {
    return join(this.root, ...parts);
  }

  meminfo(): Meminfo {
    return parseMeminfo(this.files.readText(this.path('meminfo')));
  }

  vmstat(): Map<string, number> {
    return parseFlatKeyed(this.files.readText(this.path('vmstat')));
  }

  stat(): ProcStat {
    return parseProcStat(this.files.readText(this.path('stat')));
  }

  /** PSI for a resource, or undefined when the kernel has no PSI (file absent). */
  pressure(resource: PressureResource): Pressure | undefined {
    const text = this.files.readOptional(this.path('pressure', resource));
    return text === undefined ? undefined : parsePressure(`pressure/${resource}`, text);
  }

  /** PIDs of all processes (numeric entries of the procfs root), unsorted. */
  pids(): number[] {
    const out: number[] = [];
    for (const name of this.files.listDir(this.root)) {
      const c = name.charCodeAt(0);
      if (c >= 48 && c <= 57) out.push(Number(name));
    }
    return out;
  }

  pidStatText(pid: number): string {
    return this.files.readText(`${this.root}/${pid}/stat`);
  }

  /** The bytes of /proc/PID/stat, valid until the next read through the same reader (hot path). */
  pidStatBytes(pid: number): Uint8Array {
    return this.files.readBytes(`${this.root}/${pid}/stat`);
  }

  pidStat(pid: number): PidStat {
    return parsePidStat(this.pidStatText(pid));
  }

  pidStatus(pid: number): PidStatus {
    return parsePidStatus(this.files.readText(this.path(String(pid), 'status')));
  }

  pidCmdline(pid: number): string[] {
    return parseCmdline(this.files.readText(this.path(String(pid), 'cmdline')));
  }

  pidCgroups(pid: number): PidCgroupLine[] {
    return parsePidCgroup(this.files.readText(this.path(String(pid), 'cgroup')));
  }

  pidOomScoreAdj(pid: number): number {
    return parseSingleNumber('oom_score_adj', this.files.readText(this.path(String(pid), 'oom_score_adj')));
  }

  /** PSS from smaps_rollup. Walks the target's page tables: callers must gate this by size (see config). */
  pidPssBytes(pid: number): number | undefined {
    return parseSmapsRollupPss(this.files.readText(this.path(String(pid), 'smaps_rollup')));
  }

  /** Target of /proc/PID/exe; throws (ENOENT for kernel threads, EACCES without privileges). */
  pidExe(pid: number): string {
    return this.files.readLink(this.path(String(pid), 'exe'));
  }
}
