import type { Collector } from './collector.js';
import { createCgroupsCollector } from './cgroups.js';
import { hostMemoryCollector } from './host-memory.js';
import { pressureCollector } from './pressure.js';
import { createProcessGroupsCollector } from './process-groups.js';
import type { TreeFs } from '../procfs/tree-fs.js';
import { createTmpfsCollector } from './tmpfs.js';
import { thresholdsCollector } from './thresholds.js';
import { topProcessesCollector } from './top-processes.js';

/**
 * Every collector, in the order their metrics appear on /metrics. Adding a collector means adding a file in
 * this folder and one line here. Collectors that keep state (compiled matchers, the detected cgroup
 * hierarchy) are created fresh for each agent. `fs` reads mounted file systems (statfs of tmpfs mounts).
 */
export function createCollectors(fs: TreeFs): Collector[] {
  return [
    hostMemoryCollector,
    pressureCollector,
    topProcessesCollector,
    createProcessGroupsCollector(),
    createCgroupsCollector(),
    createTmpfsCollector(fs),
    thresholdsCollector,
  ];
}
