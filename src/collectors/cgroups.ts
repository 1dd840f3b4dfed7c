import { relative } from 'node:path';
import { classifyReadError } from '../procfs/file-reader.js';
import type { MemoryHierarchy } from '../procfs/cgroupfs.js';
import type { CgroupMemory } from '../procfs/parse/cgroup-memory.js';
import { family, type Collector, type CollectorOutput, type MetricFamily, type ScrapeContext } from './collector.js';

/** Is this cgroup one of headroom's own jobs (always exported, whatever the cap)? */
export function isHeadroomJob(path: string): boolean {
  return /(^|\/)headroom\.slice\/[^/]+/.test(path);
}

/** Chooses which cgroups to export (pure): headroom's jobs first, then the largest by usage, up to the cap. */
export function selectCgroups(all: readonly CgroupMemory[], maxSeries: number): CgroupMemory[] {
  const jobs = all.filter((c) => isHeadroomJob(c.path));
  const rest = all.filter((c) => !isHeadroomJob(c.path)).sort((a, b) => b.usageBytes - a.usageBytes || a.path.localeCompare(b.path));
  return [...jobs, ...rest].slice(0, Math.max(maxSeries, jobs.length)).sort((a, b) => a.path.localeCompare(b.path));
}

/**
 * cgroup memory accounting for v1 and v2. The hierarchy is detected on the first scrape; a machine without a
 * memory controller reports "no data". Event counters are unified: v2 memory.events as is; v1 failcnt as
 * event="max" and oom_control's oom_kill as event="oom_kill".
 */
export function createCgroupsCollector(): Collector {
  let hierarchy: MemoryHierarchy | null | undefined;
  return {
    name: 'cgroups',
    collect(ctx: ScrapeContext): CollectorOutput {
      if (hierarchy === undefined) hierarchy = ctx.cgroups.detectMemoryHierarchy() ?? null;
      if (hierarchy === null) return { kind: 'no_data', reason: `no cgroup memory controller under ${ctx.cgroups.root}` };
      const h = hierarchy;
      const cfg = ctx.config.collectors.cgroups;
      const all: CgroupMemory[] = [];
      for (const rel of ctx.cgroups.walk(h, cfg.max_depth, (error) => ctx.skip(classifyReadError(error)))) {
        try {
          const m = ctx.cgroups.memory(h, rel);
          if (m) all.push(m);
        } catch (error) {
          ctx.skip(classifyReadError(error));
        }
      }
      const chosen = selectCgroups(all, cfg.max_series);
      const g = (name: string, help: string, value: (c: CgroupMemory) => number | undefined): MetricFamily =>
        family(name, 'gauge', help, ['cgroup'], chosen.map((c) => ({ labels: { cgroup: c.path }, value: value(c) })));
      const events: Array<{ labels: Record<string, string>; value: number | undefined }> = [];
      for (const c of chosen) {
        if (c.version === 'v2') {
          for (const event of ['high', 'max', 'oom', 'oom_kill'] as const) events.push({ labels: { cgroup: c.path, event }, value: c.events[event] });
        } else {
          events.push({ labels: { cgroup: c.path, event: 'max' }, value: c.failcnt });
          events.push({ labels: { cgroup: c.path, event: 'oom_kill' }, value: c.events.oom_kill });
        }
      }
      const pressure = (kind: 'some' | 'full') =>
        chosen.map((c) => ({ labels: { cgroup: c.path }, value: c.pressure?.[kind]?.totalSeconds }));
      const families: MetricFamily[] = [
        family('headroom_cgroup_hierarchy_info', 'gauge', 'The cgroup memory hierarchy headroom reads: version v1 or v2, and its directory under the cgroupfs mount.', ['version', 'mount_subdir'], [
          { labels: { version: h.version, mount_subdir: relative(ctx.cgroups.root, h.root) || '.' }, value: 1 },
        ]),
        g('headroom_cgroup_memory_usage_bytes', 'Memory charged to the cgroup (v2 memory.current, v1 usage_in_bytes).', (c) => c.usageBytes),
        g('headroom_cgroup_memory_working_set_bytes', 'Usage minus inactive file cache: what the kernel cannot easily reclaim.', (c) => c.workingSetBytes),
        g('headroom_cgroup_memory_anon_bytes', 'Anonymous memory of the cgroup.', (c) => c.anonBytes),
        g('headroom_cgroup_memory_file_bytes', 'Page cache charged to the cgroup.', (c) => c.fileBytes),
        g('headroom_cgroup_memory_limit_bytes', 'Hard memory limit (v2 memory.max, v1 limit_in_bytes); no series when unlimited.', (c) => c.limitBytes),
        g('headroom_cgroup_memory_high_bytes', 'Throttling threshold (v2 memory.high); no series when unset.', (c) => c.highBytes),
        g('headroom_cgroup_memory_low_bytes', 'Best-effort protection (v2 memory.low).', (c) => c.lowBytes),
        g('headroom_cgroup_memory_peak_bytes', 'Highest usage recorded (v2 memory.peak, v1 max_usage_in_bytes).', (c) => c.peakBytes),
        g('headroom_cgroup_swap_bytes', 'Swap used by the cgroup.', (c) => c.swapBytes),
        g('headroom_cgroup_swap_limit_bytes', 'Swap limit of the cgroup; no series when unlimited.', (c) => c.swapLimitBytes),
        family('headroom_cgroup_memory_events_total', 'counter', 'Memory events: high/max/oom/oom_kill (v2 memory.events; v1 failcnt as max, oom_control oom_kill).', ['cgroup', 'event'], events),
        family('headroom_cgroup_pressure_waiting_seconds_total', 'counter', 'Time some tasks of the cgroup were stalled on memory (v2 memory.pressure "some").', ['cgroup'], pressure('some')),
        family('headroom_cgroup_pressure_stalled_seconds_total', 'counter', 'Time all tasks of the cgroup were stalled on memory (v2 memory.pressure "full").', ['cgroup'], pressure('full')),
      ];
      return { kind: 'data', families: families.filter((f) => f.samples.length > 0) };
    },
  };
}
