import type { Collector } from './collector.js';
import { createCgroupsCollector } from './cgroups.js';
import { hostMemoryCollector } from './host-memory.js';
import { pressureCollector } from './pressure.js';
import { createProcessGroupsCollector } from './process-groups.js';
import { thresholdsCollector } from './thresholds.js';
import { topProcessesCollector } from './top-processes.js';

/**
 * Every collector, in the order their metrics appear on /metrics. Adding a collector means adding a file in
 * this folder and one line here. Collectors that keep state (compiled matchers, the detected cgroup
 * hierarchy) are created fresh for each agent.
 */
export function createCollectors(): Collector[] {
  return [
    hostMemoryCollector,
    pressureCollector,
    topProcessesCollector,
    createProcessGroupsCollector(),
    createCgroupsCollector(),
    thresholdsCollector,
  ];
}
