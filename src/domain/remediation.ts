/**
 * The vocabulary of remediation shared by policy, actions, the pipeline, audit, incidents and notify: what
 * can be done, to what, on whose decision, with which result.
 */

export type RemediationAction = 'stop_process_tree' | 'stop_cgroup' | 'throttle' | 'protect' | 'drop_caches';

/** Who decided: the Prometheus → Alertmanager → receiver path, or the agent's local guard. */
export type DecisionSource = 'receiver' | 'guard';

/** Identity of one process: PIDs are reused, (pid, start time) is not. */
export interface ProcessIdentity {
  readonly pid: number;
  readonly startTime: string;
}

/** What an alert (or a guard crossing) points at. */
export type AlertTarget =
  | { readonly kind: 'process'; readonly pid: number; readonly startTime: string }
  | { readonly kind: 'cgroup'; readonly path: string }
  /** Rank victims; `within` restricts them to one cgroup (the guard watching a cgroup as its machine). */
  | { readonly kind: 'host'; readonly within?: string };

/** What the policy chose to act on. */
export type PlanTarget =
  | {
      readonly kind: 'process';
      readonly root: ProcessIdentity;
      /** Root first, then descendants, at decision time. */
      readonly tree: readonly ProcessIdentity[];
      readonly comm: string;
      readonly cmdline: readonly string[];
      /** The root's memory cgroup, when known (throttle acts on it). */
      readonly cgroup?: string;
    }
  | { readonly kind: 'cgroup'; readonly path: string; readonly pids: readonly number[] }
  | { readonly kind: 'host' };

/** How an action ended (what the action reports). */
export type ActionResult = 'success' | 'partial' | 'failed' | 'dry_run';

/** How an attempt ended as the pipeline records it: an action's own result, or `error` when it threw. */
export type ActionOutcome = ActionResult | 'error';

/** Machine-readable refusal reasons (also the `reason` label of headroom_remediation_refusals_total). */
export type RefusalCode =
  | 'bad_label'
  | 'target_gone'
  | 'pid_reused'
  | 'protected'
  | 'below_minimum'
  | 'recovered'
  | 'no_candidate'
  /** The best victim could not explain the memory, which is held where no process owns it (tmpfs, shm, slab). */
  | 'not_explained'
  | 'no_cgroup'
  | 'action_disabled'
  | 'rate_limited'
  | 'cooldown'
  | 'actions_disabled'
  | 'not_critical'
  | 'truncated'
  | 'target_changed'
  | 'action_failed'
  | 'incident_max_victims'
  | 'incident_max_reclaim';
