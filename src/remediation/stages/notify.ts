import type { ProcessSummary } from '../../domain/summaries.js';
import type { MemorySummary } from '../../domain/summaries.js';
import type { RefusalNotification, ResolvedNotification, WarningNotification } from '../../notify/events.js';
import type { RefusalCode } from '../../policy/types.js';
import { notificationId } from '../action-record.js';
import type { CriticalTrigger, ResolvedTrigger, WarningTrigger } from '../trigger.js';

/** Where a notification comes from: this host, and what kind of machine it is. */
export interface Origin {
  readonly host: string;
  readonly machine?: string;
}

/**
 * Stage 7, notify: the notifications people get, built from what the earlier stages decided (pure). An
 * action's notification is derived from its ActionRecord (actionNotification in ../action-record.ts).
 */
export function refusalNotification(
  o: Origin,
  trigger: CriticalTrigger,
  at: Date,
  code: RefusalCode,
  reason: string,
  memory: MemorySummary | undefined,
  candidates: readonly ProcessSummary[] | undefined,
): RefusalNotification {
  return {
    kind: 'refusal',
    id: notificationId(o.host, `refusal-${at.getTime()}`, trigger.key),
    host: o.host,
    ...(o.machine ? { machine: o.machine } : {}),
    at: at.toISOString(),
    alertName: trigger.alertName,
    source: trigger.source,
    reasonCode: code,
    reason,
    memory,
    candidates,
  };
}

export function warningNotification(o: Origin, trigger: WarningTrigger, at: Date, memory: MemorySummary, top: readonly ProcessSummary[], memoryElsewhere?: string): WarningNotification {
  return {
    kind: 'warning',
    id: notificationId(o.host, 'warning', trigger.key),
    host: o.host,
    ...(o.machine ? { machine: o.machine } : {}),
    at: at.toISOString(),
    alertName: trigger.alertName,
    severity: trigger.severity,
    summary: trigger.summary,
    description: trigger.description,
    startsAt: trigger.startsAt.toISOString(),
    memory,
    topProcesses: top,
    predictedExhaustionSeconds: trigger.predictedExhaustionSeconds,
    runbookUrl: trigger.runbookUrl,
    ...(memoryElsewhere !== undefined ? { memoryElsewhere } : {}),
  };
}

export function resolvedNotification(o: Origin, trigger: ResolvedTrigger, at: Date): ResolvedNotification {
  const duration = (trigger.endsAt.getTime() - trigger.startsAt.getTime()) / 1000;
  return {
    kind: 'resolved',
    id: notificationId(o.host, 'resolved', trigger.key),
    host: o.host,
    ...(o.machine ? { machine: o.machine } : {}),
    at: at.toISOString(),
    alertName: trigger.alertName,
    summary: trigger.summary,
    startsAt: trigger.startsAt.toISOString(),
    endsAt: trigger.endsAt.toISOString(),
    durationSeconds: duration >= 0 ? duration : undefined,
  };
}
