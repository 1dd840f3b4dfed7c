import { MalformedError, parseFlatKeyed, parseSingleNumber } from './keyed.js';
import { parsePressure, type Pressure } from './pressure.js';

export type CgroupVersion = 'v1' | 'v2';

/**
 * Memory accounting of one cgroup, v1 or v2, in bytes. Optional fields are absent when the kernel does not
 * provide them (e.g. memory.peak before Linux 5.19, swap without swap accounting) or when the value means
 * "no limit" (v2 "max", v1 PAGE_COUNTER_MAX).
 */
export interface CgroupMemory {
  readonly path: string;
  readonly version: CgroupVersion;
  readonly usageBytes: number;
  readonly limitBytes?: number;
  readonly highBytes?: number;
  readonly lowBytes?: number;
  readonly swapBytes?: number;
  readonly swapLimitBytes?: number;
  readonly peakBytes?: number;
  readonly anonBytes?: number;
  readonly fileBytes?: number;
  readonly inactiveFileBytes?: number;
  /** usage − inactive_file, as cAdvisor and the kubelet compute it (never below 0). */
  readonly workingSetBytes?: number;
  /** v2 memory.events: high, max, oom, oom_kill. */
  readonly events: Readonly<Partial<Record<'high' | 'max' | 'oom' | 'oom_kill', number>>>;
  /** v1 memory.failcnt: how often usage hit the limit. */
  readonly failcnt?: number;
  readonly pressure?: Pressure;
}

/** The raw text of the files of one cgroup directory; a file that does not exist is undefined. */
export type CgroupFiles = Readonly<Record<string, string | undefined>>;

export const V2_FILES = [
  'memory.current',
  'memory.max',
  'memory.high',
  'memory.low',
  'memory.peak',
  'memory.stat',
  'memory.events',
  'memory.swap.current',
  'memory.swap.max',
  'memory.pressure',
] as const;

export const V1_FILES = [
  'memory.usage_in_bytes',
  'memory.limit_in_bytes',
  'memory.max_usage_in_bytes',
  'memory.memsw.usage_in_bytes',
  'memory.memsw.limit_in_bytes',
  'memory.stat',
  'memory.failcnt',
  'memory.oom_control',
] as const;

/** v1 reports "no limit" as PAGE_COUNTER_MAX rounded to the page size (9223372036854771712 on x86-64). */
const V1_UNLIMITED_AT = 2 ** 62;

function optionalLimitV2(file: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (text.trim() === 'max') return undefined;
  return parseSingleNumber(file, text);
}

function optionalNumber(file: string, text: string | undefined): number | undefined {
  return text === undefined ? undefined : parseSingleNumber(file, text);
}

function workingSet(usage: number, inactiveFile: number | undefined): number | undefined {
  return inactiveFile === undefined ? undefined : Math.max(0, usage - inactiveFile);
}

/** Builds a CgroupMemory from the files of a v2 cgroup directory. */
export function parseCgroupV2Memory(path: string, files: CgroupFiles): CgroupMemory {
  const current = files['memory.current'];
  if (current === undefined) throw new MalformedError(`${path}/memory.current`, 'missing');
  const usage = parseSingleNumber('memory.current', current);
  const stat = files['memory.stat'] === undefined ? undefined : parseFlatKeyed(files['memory.stat']);
  const events = files['memory.events'] === undefined ? undefined : parseFlatKeyed(files['memory.events']);
  const inactiveFile = stat?.get('inactive_file');
  const eventCounts: Partial<Record<'high' | 'max' | 'oom' | 'oom_kill', number>> = {};
  for (const key of ['high', 'max', 'oom', 'oom_kill'] as const) {
    const v = events?.get(key);
    if (v !== undefined) eventCounts[key] = v;
  }
  return {
    path,
    version: 'v2',
    usageBytes: usage,
    limitBytes: optionalLimitV2('memory.max', files['memory.max']),
    highBytes: optionalLimitV2('memory.high', files['memory.high']),
    lowBytes: optionalNumber('memory.low', files['memory.low']),
    swapBytes: optionalNumber('memory.swap.current', files['memory.swap.current']),
    swapLimitBytes: optionalLimitV2('memory.swap.max', files['memory.swap.max']),
    peakBytes: optionalNumber('memory.peak', files['memory.peak']),
    anonBytes: stat?.get('anon'),
    fileBytes: stat?.get('file'),
    inactiveFileBytes: inactiveFile,
    workingSetBytes: workingSet(usage, inactiveFile),
    events: eventCounts,
    pressure: files['memory.pressure'] === undefined ? undefined : parsePressure('memory.pressure', files['memory.pressure']),
  };
}

/** Builds a CgroupMemory from the files of a v1 memory-controller cgroup directory. */
export function parseCgroupV1Memory(path: string, files: CgroupFiles): CgroupMemory {
  const usageText = files['memory.usage_in_bytes'];
  if (usageText === undefined) throw new MalformedError(`${path}/memory.usage_in_bytes`, 'missing');
  const usage = parseSingleNumber('memory.usage_in_bytes', usageText);
  const limitRaw = optionalNumber('memory.limit_in_bytes', files['memory.limit_in_bytes']);
  const memswUsage = optionalNumber('memory.memsw.usage_in_bytes', files['memory.memsw.usage_in_bytes']);
  const memswLimit = optionalNumber('memory.memsw.limit_in_bytes', files['memory.memsw.limit_in_bytes']);
  const stat = files['memory.stat'] === undefined ? undefined : parseFlatKeyed(files['memory.stat']);
  const oomControl = files['memory.oom_control'] === undefined ? undefined : parseFlatKeyed(files['memory.oom_control']);
  // usage_in_bytes is hierarchical, so the hierarchical total_* counters of memory.stat match it.
  const inactiveFile = stat?.get('total_inactive_file') ?? stat?.get('inactive_file');
  const swap = stat?.get('total_swap') ?? (memswUsage !== undefined ? Math.max(0, memswUsage - usage) : undefined);
  const oomKill = oomControl?.get('oom_kill');
  const limit = limitRaw !== undefined && limitRaw < V1_UNLIMITED_AT ? limitRaw : undefined;
  const swapLimit =
    memswLimit !== undefined && memswLimit < V1_UNLIMITED_AT && limit !== undefined ? Math.max(0, memswLimit - limit) : undefined;
  return {
    path,
    version: 'v1',
    usageBytes: usage,
    limitBytes: limit,
    swapBytes: swap,
    swapLimitBytes: swapLimit,
    peakBytes: optionalNumber('memory.max_usage_in_bytes', files['memory.max_usage_in_bytes']),
    anonBytes: stat?.get('total_rss') ?? stat?.get('rss'),
    fileBytes: stat?.get('total_cache') ?? stat?.get('cache'),
    inactiveFileBytes: inactiveFile,
    workingSetBytes: workingSet(usage, inactiveFile),
    events: oomKill === undefined ? {} : { oom_kill: oomKill },
    failcnt: optionalNumber('memory.failcnt', files['memory.failcnt']),
  };
}
