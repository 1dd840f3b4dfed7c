import { createHash } from 'node:crypto';
import type { ActionReport } from '../actions/action.js';
import type { ActionEntry } from '../audit/audit-log.js';
import { describeHost, type HostFacts } from '../domain/host.js';
import type { MemorySummary, ProcessSummary } from '../domain/summaries.js';
import { commandKey } from '../incidents/render.js';
import { incidentId } from '../incidents/store.js';
import type { Evidence } from '../evidence/types.js';
import type { IncidentGrowth, IncidentRecord } from '../incidents/types.js';
import { growthSentence } from '../incidents/growth-render.js';
import type { ActionNotification } from '../notify/events.js';
import type { Plan } from '../policy/types.js';
import type { CriticalTrigger } from './trigger.js';

/**
 * The one record of a remediation attempt. The act stage fills it; the audit entry, the incident report and
 * the notification are each derived from it by a pure function below, so they cannot disagree.
 */
export interface ActionRecord {
  readonly host: string;
  readonly hostFacts?: HostFacts;
  readonly trigger: CriticalTrigger;
  readonly plan: Plan;
  readonly dryRun: boolean;
  readonly startedAt: Date;
  /** The target as people see it, from the snapshot the re-check read. */
  readonly target: { readonly process?: ProcessSummary; readonly cgroup?: string };
  readonly memoryBefore: MemorySummary;
  /** When the first warning for this incident was notified (the timeline). */
  readonly firstWarning?: Date;
  /** Evidence captured before the action (issue #11), and its one-line diagnosis. */
  readonly evidence?: Evidence;
  readonly diagnosis?: string;
  /** Where memory no process owns is, when notable (after the action, else before). */
  readonly memoryElsewhere?: string;
  /** The victim's growth from the agent's short history at the action (issue #11), and its chart (SVG). */
  readonly growth?: IncidentGrowth;
  readonly growthChart?: string;
  readonly ending: ActionEnding;
}

/** How the attempt ended: the action ran (its report, memory after), or it threw. */
export type ActionEnding =
  | {
      readonly kind: 'ran';
      readonly report: ActionReport;
      readonly memoryAfter: MemorySummary;
      /** When memory was confirmed below the recovery line (absent: not recovered, or dry run). */
      readonly recoveredAt?: Date;
    }
  | { readonly kind: 'threw'; readonly message: string };

/** Stable per (host, kind, key): the outbox delivers each notification once. */
export function notificationId(host: string, kind: string, key: string): string {
  return createHash('sha256').update(`${host}\u0000${kind}\u0000${key}`).digest('hex').slice(0, 24);
}

export function timeToResolutionSeconds(r: ActionRecord): number | undefined {
  if (r.ending.kind !== 'ran' || r.ending.recoveredAt === undefined) return undefined;
  return Math.max(0, (r.ending.recoveredAt.getTime() - r.trigger.startsAt.getTime()) / 1000);
}

/** The audit line of the attempt. */
export function actionAuditEntry(r: ActionRecord, incident?: string): ActionEntry {
  const base = {
    event: 'action' as const,
    source: r.trigger.source,
    alertName: r.trigger.alertName,
    key: r.trigger.key,
    fingerprint: r.trigger.fingerprint,
    action: r.plan.action,
    dryRun: r.dryRun,
    target: r.plan.target,
  };
  if (r.ending.kind === 'threw') return { ...base, reasonCode: 'error', reason: `${r.plan.action} failed: ${r.ending.message}` };
  const { report, memoryAfter } = r.ending;
  return {
    ...base,
    reasonCode: report.result,
    reason: r.plan.reason,
    detail: report.detail,
    before: report.before,
    after: report.after,
    freedBytes: report.freedBytes,
    actionStartedAt: r.startedAt.toISOString(),
    memoryBefore: r.memoryBefore,
    memoryAfter,
    signalled: report.signalled,
    remaining: report.remaining,
    incidentId: incident,
    ...(r.diagnosis !== undefined ? { diagnosis: r.diagnosis } : {}),
    ...(r.evidence ? { evidenceSpentMs: r.evidence.spentMs, evidenceNotCaptured: r.evidence.notCaptured } : {}),
    ...(r.plan.target.kind === 'process' ? { heldBytes: r.plan.targetBytes, swapBytes: r.plan.targetSwapBytes ?? 0 } : {}),
  };
}

/** The incident report's record (only an action that ran has one). */
export function incidentRecord(r: ActionRecord): IncidentRecord | undefined {
  if (r.ending.kind !== 'ran') return undefined;
  const { report, memoryAfter, recoveredAt } = r.ending;
  const subject = r.target.process ? `pid${r.target.process.pid}` : (r.target.cgroup ?? 'host');
  const machine = r.hostFacts === undefined ? undefined : describeHost(r.hostFacts);
  return {
    id: incidentId(r.startedAt, subject),
    host: r.host,
    ...(machine ? { machine } : {}),
    source: r.trigger.source,
    alertName: r.trigger.alertName,
    action: r.plan.action,
    dryRun: r.dryRun,
    result: report.result,
    reason: r.plan.reason,
    detail: report.detail,
    target: r.target,
    commandKey: r.plan.target.kind === 'process' ? commandKey(r.plan.target.comm, r.plan.target.cmdline) : undefined,
    timeline: {
      firstWarning: r.firstWarning?.toISOString(),
      critical: r.trigger.startsAt.toISOString(),
      action: r.startedAt.toISOString(),
      recovery: recoveredAt?.toISOString(),
    },
    memoryBefore: r.memoryBefore,
    memoryAfter,
    actionBefore: report.before,
    actionAfter: report.after,
    freedBytes: report.freedBytes,
    timeToResolutionSeconds: timeToResolutionSeconds(r),
    memoryElsewhere: r.memoryElsewhere,
    evidence: r.evidence,
    diagnosis: r.diagnosis,
    ...(r.growth ? { growth: r.growth } : {}),
  };
}

/** The notification of an action that ran (a failed one is notified as a refusal, action_failed). */
export function actionNotification(r: ActionRecord, saved?: { readonly id: string; readonly path: string; readonly chart?: string }): ActionNotification | undefined {
  if (r.ending.kind !== 'ran') return undefined;
  const { report, memoryAfter } = r.ending;
  const machine = r.hostFacts === undefined ? undefined : describeHost(r.hostFacts);
  const growthLine = r.growth ? growthSentence(r.growth) : undefined;
  return {
    kind: 'action',
    id: notificationId(r.host, 'action', r.trigger.key),
    host: r.host,
    ...(machine ? { machine } : {}),
    at: r.startedAt.toISOString(),
    alertName: r.trigger.alertName,
    source: r.trigger.source,
    action: r.plan.action,
    dryRun: r.dryRun,
    target: r.target,
    reason: `${r.plan.reason}. ${report.detail}`,
    memoryBefore: r.memoryBefore,
    memoryAfter,
    freedBytes: report.freedBytes,
    timeToResolutionSeconds: timeToResolutionSeconds(r),
    incidentId: saved?.id,
    incidentReportPath: saved?.path,
    diagnosis: r.diagnosis,
    ...(growthLine !== undefined ? { growth: growthLine } : {}),
    ...(saved?.chart !== undefined ? { chart: saved.chart } : {}),
  };
}
