import { z } from 'zod';
import { duration, ratio, section } from '../schema-helpers.js';

/**
 * The local guard: the agent's own last line of defence. It polls memory itself (no Prometheus in the loop)
 * and runs the same remediation as the receiver when available memory stays below `available_below`, or
 * memory pressure stays above `psi_full_above`.
 */
export const guardSection = section({
  /** Off by default: turn it on where headroom may act without a person (see docs/guard.md). */
  enabled: z.boolean().default(false),
  /** Act when available memory stays below this share of the total (default 3 %, below the 95 % alert). */
  available_below: ratio().default(0.03),
  /** … for at least this long (filters one-poll dips). */
  sustain: duration().prefault('200ms'),
  /** Also act when PSI memory "full" avg10 stays above this share (0.5 = all tasks stalled half the time). */
  psi_full_above: ratio().default(0.5),
  psi_sustain: duration().prefault('5s'),
  /** Poll interval near the threshold … */
  min_interval: duration().prefault('100ms'),
  /** … and far from it (the interval adapts between the two, as earlyoom does). */
  max_interval: duration().prefault('1s'),
  /**
   * Watch a cgroup as the guard's "machine" (usage vs that cgroup's limit) instead of the host, e.g.
   * "/headroom.slice" to guard all headroom jobs, or a sandbox cgroup in tests. Relative to the memory
   * hierarchy root; the cgroup must have a limit.
   */
  watch_cgroup: z.string().regex(/^\//, { error: 'must be a cgroup path starting with /, e.g. /headroom.slice' }).optional(),
  /**
   * Raise the agent's own priority and shield it from the OOM killer at start, whenever it can remediate (this
   * guard or the receiver on; see docs/guard.md).
   */
  harden_self: z.boolean().default(true),
});

export type GuardConfig = z.infer<typeof guardSection>;
