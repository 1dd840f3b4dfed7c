import { z } from 'zod';
import { count, listenAddress, ratio, regex, section, size, sizeOrPercent } from '../schema-helpers.js';

/** Default listen address: loopback only. 9632 is marked free in Prometheus' default port allocations list. */
export const DEFAULT_LISTEN = '127.0.0.1:9632';

export const agentSection = section({
  /** HOST:PORT for /metrics, /healthz and the landing page. */
  listen: listenAddress().default(DEFAULT_LISTEN),
  /** Mount point of procfs. */
  procfs: z.string().min(1).default('/proc'),
  /** Mount point of the cgroup file system. */
  cgroupfs: z.string().min(1).default('/sys/fs/cgroup'),
  /** The passwd file used to turn uids into user names. */
  passwd: z.string().min(1).default('/etc/passwd'),
});

const matcher = section({
  /** Group name; {comm}, {user}, {cgroup}, {exe_base} and {match:N} (regex capture N) are replaced. */
  name: z.string().min(1),
  comm: z.array(z.string()).optional(),
  exe: z.array(regex()).optional(),
  cmdline: z.array(regex()).optional(),
  user: z.array(z.string()).optional(),
  cgroup: z.array(regex()).optional(),
});

export type GroupMatcherConfig = z.infer<typeof matcher>;

export const COLLECTOR_NAMES = ['host_memory', 'pressure', 'top_processes', 'process_groups', 'cgroups', 'tmpfs', 'thresholds'] as const;
export type CollectorName = (typeof COLLECTOR_NAMES)[number];

export const collectorsSection = section({
  /** Collectors to turn off, by name. */
  disabled: z.array(z.enum(COLLECTOR_NAMES, { error: `must be one of ${COLLECTOR_NAMES.join(', ')}` })).default([]),
  top_processes: section({
    /** Always export this many of the largest processes by resident memory. */
    top_k: count(1).default(10),
    /** Also export every process above this size (or share of MemTotal). */
    floor: sizeOrPercent().prefault('5%'),
    /** Never export more processes than this (bounds the series count). */
    max_series: count(1).default(50),
    /** Exported command lines are cut to this many characters. */
    cmdline_max_chars: count(16).default(120),
    /** Proportional set size from smaps_rollup: off by default; never for processes above max_resident. */
    pss: section({
      enabled: z.boolean().default(false),
      max_resident: size().prefault('2G'),
    }).prefault({}),
  }).prefault({}),
  process_groups: section({
    /** First matching matcher names the group; unmatched processes are grouped by comm. */
    matchers: z.array(matcher).default([]),
    /** Keep this many groups (largest by resident memory); the rest are summed into "other". */
    max_groups: count(1).default(15),
  }).prefault({}),
  cgroups: section({
    /** How many levels below the root to walk (4 covers kubepods and user sessions). */
    max_depth: count(1).default(4),
    /** At most this many cgroups are exported, largest by usage first; headroom's own jobs always. */
    max_series: count(1).default(200),
  }).prefault({}),
});

/**
 * Alert thresholds. The agent exports them as headroom_threshold_ratio / _seconds gauges so Prometheus rules
 * compare against them: a team changes a threshold here, not in every rule.
 */
export const thresholdsSection = section({
  host_memory_warning: ratio().default(0.8),
  host_memory_critical: ratio().default(0.95),
  /** A single process tree above this share of MemTotal is critical (the seed: 50 of 62 GB ≈ 0.8). */
  process_tree_critical: ratio().default(0.8),
  cgroup_warning: ratio().default(0.8),
  cgroup_critical: ratio().default(0.95),
  swap_warning: ratio().default(0.5),
  swap_critical: ratio().default(0.9),
  /** PSI memory "full": share of time all tasks stalled, averaged over a minute. */
  memory_pressure_full: ratio().default(0.1),
  /** A process above this share of MemTotal running longer than long_running_seconds is "stuck". */
  long_running_share: ratio().default(0.25),
  /** One tmpfs mount holding this share of MemTotal is a warning (memory no process owns). */
  tmpfs_warning: ratio().default(0.2),
  long_running_seconds: z.number({ error: 'must be a number of seconds above 0' }).gt(0, { error: 'must be a number of seconds above 0' }).default(3 * 3600),
});
