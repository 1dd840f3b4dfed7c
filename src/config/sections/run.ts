import { z } from 'zod';
import { duration, numberOrString, section, size, sizeOrPercent } from '../schema-helpers.js';
import { parseSize, SIZE_HELP } from '../units.js';

/** A swap allowance: like size(), but 0 ("no swap for the job") is allowed and is the default. */
function swapSize() {
  return numberOrString(`0 (no swap) or ${SIZE_HELP}`).transform((value, ctx): number => {
    if (value === 0 || (typeof value === 'string' && /^\s*0+\s*[a-zA-Z]*\s*$/.test(value))) return 0;
    if (typeof value === 'number') {
      if (Number.isInteger(value) && value > 0) return value;
      ctx.addIssue({ code: 'custom', message: `must be 0 (no swap) or ${SIZE_HELP}` });
      return z.NEVER;
    }
    const parsed = parseSize(value);
    if (parsed.ok) return parsed.value;
    ctx.addIssue({ code: 'custom', message: `${parsed.error}; 0 means no swap` });
    return z.NEVER;
  });
}

export const CPU_QUOTA_HELP = 'a share of one CPU as a percentage, such as 80% or 250% (2.5 CPUs), at least 1%';

/** CPU quota as a percentage of one CPU ("80%", "250%", or the number 80); stored as a share (0.8, 2.5). */
function cpuQuota() {
  return numberOrString(CPU_QUOTA_HELP).transform((value, ctx): number => {
    const m = typeof value === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*%?\s*$/.exec(value) : null;
    const pct = typeof value === 'number' ? value : m ? Number(m[1]) : Number.NaN;
    if (Number.isFinite(pct) && pct >= 1 && pct <= 100_000) return pct / 100;
    ctx.addIssue({ code: 'custom', message: `must be ${CPU_QUOTA_HELP}` });
    return z.NEVER;
  });
}

export const RUN_BACKENDS = ['auto', 'systemd', 'cgroup-v2', 'cgroup-v1'] as const;
export type RunBackendChoice = (typeof RUN_BACKENDS)[number];

/**
 * Defaults for `headroom run`, set once per team in the config file; every key has a command-line flag of the
 * same name (memory_max → --memory-max) that overrides it and is checked by the same rules.
 */
export const runSection = section({
  /** Hard memory limit of the job: a size or a share of MemTotal. The kernel stops the job above it. */
  memory_max: sizeOrPercent().prefault('80%'),
  /** Soft limit: above it the kernel reclaims and throttles the job (v2/systemd; v1 uses the soft limit). */
  memory_high: sizeOrPercent().optional(),
  /** Swap the job may use; 0 (the default) keeps a runaway job from swapping the machine to a halt. */
  swap_max: swapSize().prefault(0),
  /** CPU quota as a percentage of one CPU; none by default. */
  cpu_quota: cpuQuota().optional(),
  /** Stop the job after this long (SIGTERM, kill_grace, SIGKILL; exit 124). None by default. */
  timeout: duration().optional(),
  /** Time between SIGTERM and SIGKILL on timeout, Ctrl-C and cleanup. */
  kill_grace: duration().prefault('10s'),
  /** Refuse to start unless MemAvailable is at least this much. */
  require_available: size().optional(),
  /** With require_available: wait up to this long for memory to come back instead of refusing at once. */
  wait_available: duration().optional(),
  /** Directory for the resource log (<name>-<run id>.jsonl) and chart (.svg) when --log is not given. */
  log_dir: z.string().min(1).optional(),
  /**
   * Keep every run's resource log for `headroom jobs` (history and recommendations), also without --log and
   * log_dir: in history_dir, default <remediation.state_dir>/runs. false: no history.
   */
  history: z.boolean().default(true),
  history_dir: z.string().min(1).optional(),
  /** How often the job's resources are sampled. */
  sample_interval: duration().prefault('1s'),
  /**
   * Parent of the job cgroups (cgroup backends), relative to the hierarchy root. The default matches
   * systemd's headroom.slice; a nested parent (e.g. a sandbox cgroup with its own limit) keeps jobs inside it.
   */
  cgroup_parent: z
    .string()
    .regex(/^\/[^\s]*headroom\.slice$/, { error: 'must be a cgroup path ending in headroom.slice, e.g. /headroom.slice or /sandbox/headroom.slice' })
    .default('/headroom.slice'),
  /** Which limit backend to use; auto picks systemd, then cgroup v2, then cgroup v1. */
  backend: z.enum(RUN_BACKENDS, { error: `must be one of ${RUN_BACKENDS.join(', ')}` }).default('auto'),
});

export type RunConfig = z.infer<typeof runSection>;
