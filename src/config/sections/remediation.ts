import { z } from 'zod';
import { count, duration, ratio, regex, section, size, sizeBound, sizeOrPercent } from '../schema-helpers.js';

const ACTIONS = ['stop_process_tree', 'stop_cgroup', 'throttle', 'drop_caches'] as const;
const actionName = () => z.enum(ACTIONS, { error: `must be one of ${ACTIONS.join(', ')}` });

const matchers = () =>
  section({
    /** Regular expressions matched against the process name (comm). */
    comm: z.array(regex()).default([]),
    /** Regular expressions matched against the command line (arguments joined by spaces). */
    cmdline: z.array(regex()).default([]),
  }).prefault({});

/** Environment variables whose values decide memory behaviour: the only ones evidence capture records. */
export const DEFAULT_EVIDENCE_ENV = [
  'POLARS_MAX_THREADS',
  'OMP_NUM_THREADS',
  'MKL_NUM_THREADS',
  'OPENBLAS_NUM_THREADS',
  'NUMEXPR_MAX_THREADS',
  'MALLOC_ARENA_MAX',
  'MALLOC_TRIM_THRESHOLD_',
  'PYTORCH_CUDA_ALLOC_CONF',
  'CUDA_VISIBLE_DEVICES',
  'RAYON_NUM_THREADS',
  'ARROW_DEFAULT_MEMORY_POOL',
  'PYTHONMALLOC',
] as const;

/**
 * What remediation may do and when: the policy (targets, protections, limits) and the actions. Shared by the
 * receiver (Alertmanager) and the local guard.
 */
export const remediationSection = section({
  /** Decide and report, never change anything. */
  dry_run: z.boolean().default(false),
  /** Idempotency state, audit log (audit.jsonl) and incident reports (incidents/). */
  state_dir: z.string().min(1).default('/var/lib/headroom'),
  /** At most this many actions per window on this host … */
  actions_per_window: count(1).default(3),
  window: duration().prefault('1h'),
  /** … and none within this time after the previous one. */
  cooldown: duration().prefault('2m'),
  /**
   * A target (process tree or cgroup) smaller than this is never stopped: a size, a % of MemTotal, or the
   * smaller of two ("min(1G, 5%)"). The default, the smaller of 1 GiB and 5 % of MemTotal, is 1 GiB from
   * 20 GiB of RAM up (the 62 GiB box of the 2025-12-12 incident: unchanged) and about 100 MiB on a 2 GiB
   * machine, where a dozen jobs of ~180 MiB each filled memory and a flat 1G made none of them a candidate
   * (issue 14; docs/guard.md "The minimum victim size").
   */
  min_victim_size: sizeBound().prefault('min(1G, 5%)'),
  /** Never act on processes matching these (in addition to the built-in protections). */
  protect: matchers(),
  /** Victim ranking for host alerts: preferred processes count 4×, avoided ones ¼, headroom jobs 2×. */
  prefer: matchers(),
  avoid: matchers(),
  /** SIGTERM → wait this long → SIGKILL what remains. */
  kill_grace: duration().prefault('10s'),
  /** Re-check right before acting: "recovered" (no action) when memory is back below these. */
  recovered: section({
    /** Host (or watched cgroup) used ratio, 1 − MemAvailable/MemTotal. */
    host_used_below: ratio().default(0.9),
    /** The named cgroup's usage / limit (cgroups without a limit: share of MemTotal). */
    cgroup_used_below: ratio().default(0.9),
    /** The named process tree's share of MemTotal. */
    process_tree_share_below: ratio().default(0.5),
  }).prefault({}),
  /** Which action for which kind of alert; `alerts` overrides by alertname. */
  actions: section({
    host: actionName().default('stop_process_tree'),
    process: actionName().default('stop_process_tree'),
    cgroup: actionName().default('stop_cgroup'),
    alerts: z.record(z.string(), actionName()).default({}),
  }).prefault({}),
  throttle: section({
    /** memory.high (v1: soft limit) is set to this share of the cgroup's current usage. */
    ratio: ratio().default(0.9),
  }).prefault({}),
  /** At agent start: lower sshd's oom_score_adj and set memory.low on its cgroup (v2). */
  protect_sshd: section({
    enabled: z.boolean().default(false),
    oom_score_adj: z.number().int().min(-1000).max(0).default(-900),
    memory_low: size().optional(),
  }).prefault({}),
  /** Opt in to the drop_caches action (rarely useful: page cache is reclaimable anyway). */
  drop_caches: section({
    enabled: z.boolean().default(false),
  }).prefault({}),
  /**
   * Evidence about the victim, captured right before it is stopped (frozen first, so it cannot grow meanwhile),
   * within `budget`, and skipped when the machine is stalling. Only `env_allowlist` variables are recorded.
   */
  evidence: section({
    enabled: z.boolean().default(true),
    budget: duration().prefault('400ms'),
    /** Python stacks with `py-spy dump` when py-spy is on PATH (optional). */
    py_spy: z.boolean().default(true),
    env_allowlist: z
      .array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'must be an environment variable name (letters, digits, _)' }))
      .default([...DEFAULT_EVIDENCE_ENV]),
    max_open_files: count(1).default(10),
  }).prefault({}),
  /**
   * An incident (the guard's crossing, or a host-level critical alert that stays firing) is worked off one
   * victim at a time until memory is back below `recovered.host_used_below` — within these bounds
   * (docs/guard.md). The Alertmanager path's `actions_per_window` and `cooldown` apply between incidents.
   */
  incident: section({
    /** At most this many victims per incident (a dozen parallel jobs on a small machine need several). */
    max_victims: z
      .number({ error: 'must be a whole number from 1 to 100' })
      .int({ error: 'must be a whole number from 1 to 100' })
      .min(1, { error: 'must be a whole number from 1 to 100' })
      .max(100, { error: 'must be a whole number from 1 to 100' })
      .default(12),
    /**
     * The victims of one incident together may hold at most this much (resident + swap), as a size or a share
     * of the guarded memory (MemTotal, or the watched cgroup's limit): when killing has reclaimed that much and
     * memory is still past the line, something else holds it and more killing will not help.
     */
    max_reclaim: sizeOrPercent().prefault('100%'),
    /** After a victim exits, wait up to this long for its memory to show up as available before re-reading. */
    settle: duration().prefault('2s'),
    /**
     * Escalation under thrash: while available memory stays below this share after a victim's SIGTERM,
     * SIGKILL follows after `escalate_after` instead of the whole `kill_grace` (earlyoom's second line).
     */
    kill_below: ratio().default(0.02),
    escalate_after: duration().prefault('1s'),
    /**
     * After memory is back under the recovered line the incident stays open this long: jobs still growing that
     * take memory past the guard line again within it continue the same incident (same id, report and
     * notification thread; victims appended), and Alertmanager alerts for the condition stay duplicates. Its
     * report and summary are written when it closes. 90 s: more than the Alertmanager path's own delay
     * (`for:` + group_wait + scrape, about a minute with the shipped rules) and than issue 14's re-crossings
     * (seconds apart), short enough that the summary follows the recovery within a minute and a half.
     */
    close_after: duration().prefault('90s'),
  }).prefault({}),
  /** Identical refusals in a row are one episode: one audit and journal line when it starts, one with the count and span when it ends (or after this long). */
  refusal_episode_max: duration().prefault('10m'),
  /** A refused alert is re-evaluated when Alertmanager repeats it after this long (earlier repeats are duplicates). */
  refusal_recheck_after: duration().prefault('10m'),
  /** Idempotency records older than this are forgotten. */
  state_retention: duration().prefault('7d'),
});

export type RemediationConfig = z.infer<typeof remediationSection>;
