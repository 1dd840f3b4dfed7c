import type { Evidence } from '../evidence/types.js';
import type { ActionResult, DecisionSource, RemediationAction } from '../domain/remediation.js';
import type { MemorySummary, ProcessSummary } from '../domain/summaries.js';

/** One remediation, as stored in incidents/index.jsonl and rendered to incidents/<id>.md. */
export interface IncidentRecord {
  readonly id: string;
  readonly host: string;
  /** What kind of machine the host is (src/domain/host.ts describeHost), read once at agent start. */
  readonly machine?: string;
  readonly source: DecisionSource;
  readonly alertName: string;
  readonly action: RemediationAction;
  readonly dryRun: boolean;
  /** success, partial, failed, dry_run. */
  readonly result: ActionResult;
  readonly reason: string;
  readonly detail: string;
  readonly target: { readonly process?: ProcessSummary; readonly cgroup?: string };
  /** "python3 parallel_feature_testing.py": what recurring-pattern analysis groups by. */
  readonly commandKey?: string;
  readonly timeline: {
    readonly firstWarning?: string;
    readonly critical: string;
    readonly action: string;
    readonly recovery?: string;
    /** When the incident closed: after a recovery, close_after later (remediation.incident.close_after). */
    readonly ended?: string;
  };
  readonly memoryBefore: MemorySummary;
  readonly memoryAfter?: MemorySummary;
  readonly actionBefore: Readonly<Record<string, number>>;
  readonly actionAfter: Readonly<Record<string, number>>;
  readonly freedBytes?: number;
  readonly timeToResolutionSeconds?: number;
  /** Where memory no process owns was at the action (tmpfs files, SysV shm, kernel slab), when notable. */
  readonly memoryElsewhere?: string;
  /** What was captured about the victim right before the action (src/evidence/). */
  readonly evidence?: Evidence;
  /** One line from the evidence (also in the Slack message). */
  readonly diagnosis?: string;
  /** An incident of several steps (issue 14): every victim in order, with what each held and freed. */
  readonly victims?: readonly IncidentVictim[];
  readonly reclaimedBytes?: number;
  readonly closedBecause?: IncidentEnd;
  /** How often memory went past the line again within close_after after a recovery (each continued this incident). */
  readonly recrossings?: number;
  /** Victims grouped by command and user, with how many trees of that command still run. */
  readonly jobs?: ReadonlyArray<{ readonly commandKey: string; readonly uid?: number; readonly victims: number; readonly heldBytes: number; readonly stillRunning: number }>;
}

/** One victim of an incident, as the record, the report and the summary notification show it. */
export interface IncidentVictim {
  readonly pid: number;
  readonly startTime: string;
  readonly comm: string;
  readonly cmdline: string;
  /** "python3 train.py": what jobs are grouped by. */
  readonly commandKey: string;
  readonly uid?: number;
  /** Resident + swapped bytes of the tree at decision time. */
  readonly heldBytes: number;
  readonly swapBytes?: number;
  readonly processes: number;
  readonly actionAt: string;
  readonly result: string;
  readonly freedBytes?: number;
  /** When every process of the tree was confirmed gone. */
  readonly exitedAt?: string;
  /** From the first signal to confirmed exit. */
  readonly exitSeconds?: number;
  /** SIGKILL was sent before the end of kill_grace (still past the line under thrash). */
  readonly escalated?: boolean;
  readonly auditKey: string;
}

export type IncidentEnd = 'recovered' | 'max_victims' | 'max_reclaim' | 'no_candidate' | 'action_failed' | 'resolved' | 'refused';

