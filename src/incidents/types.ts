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
}
