import type { MemorySummary } from '../domain/summaries.js';
import type { CgroupFs, MemoryHierarchy } from '../procfs/cgroupfs.js';
import type { ProcFs } from '../procfs/procfs.js';
import { cgroupMemory, hostMemory } from '../remediation/snapshot.js';

/** One poll of the guard: memory of its scope, and memory pressure. */
export interface GuardReading {
  readonly memory: MemorySummary;
  /** available / total. */
  readonly availableRatio: number;
  /** PSI memory "full" avg10 as a share (0–1), absent without PSI. */
  readonly psiFull?: number;
}

/** Host memory from /proc/meminfo and /proc/pressure/memory: two small reads. */
export function readHostReading(proc: ProcFs): GuardReading {
  const memory = hostMemory(proc.meminfo());
  const psi = proc.pressure('memory');
  return {
    memory,
    availableRatio: memory.totalBytes > 0 ? memory.availableBytes / memory.totalBytes : 0,
    psiFull: psi?.full === undefined ? undefined : psi.full.avg10 / 100,
  };
}

/**
 * A cgroup as the guard's machine: total = its limit, available = limit − working set (usage when the kernel
 * gives no inactive_file). Throws when the cgroup has no limit: there is nothing to be "full" against.
 */
export function readCgroupReading(cgroups: CgroupFs, hierarchy: MemoryHierarchy, path: string): GuardReading {
  const m = cgroups.memory(hierarchy, path);
  if (m === undefined) throw new Error(`guard.watch_cgroup ${path}: no such cgroup under ${hierarchy.root}`);
  if (m.limitBytes === undefined) throw new Error(`guard.watch_cgroup ${path}: the cgroup has no memory limit to guard against`);
  const memory = { ...cgroupMemory(path, m.workingSetBytes ?? m.usageBytes, m.limitBytes, m.limitBytes), swapUsedBytes: m.swapBytes };
  return {
    memory,
    availableRatio: memory.availableBytes / m.limitBytes,
    psiFull: m.pressure?.full === undefined ? undefined : m.pressure.full.avg10 / 100,
  };
}
