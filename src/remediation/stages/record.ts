import type { AuditSink, NotifiedEntry, RefusalEntry } from '../../audit/audit-log.js';
import { stamped } from '../../audit/audit-log.js';
import type { MemorySummary } from '../../domain/summaries.js';
import type { IncidentStore } from '../../incidents/store.js';
import { errorMessage, type Logger } from '../../logging/logger.js';
import { actionAuditEntry, incidentRecord, type ActionRecord } from '../action-record.js';
import type { IdempotencyStore } from '../idempotency.js';
import type { RemediationMetrics } from '../metrics.js';
import type { CriticalTrigger, ResolvedTrigger, WarningTrigger } from '../trigger.js';

export interface RecordDeps {
  readonly state: IdempotencyStore;
  readonly incidents: IncidentStore;
  readonly audit: AuditSink;
  readonly metrics: RemediationMetrics;
  readonly now: () => Date;
  readonly logger: Logger;
}

/**
 * Stage 6, record an attempt: the idempotency record (durable, counted by the rate limit unless a dry run —
 * a failed action counts too), the incident report, the metric and the audit line, all from the one
 * ActionRecord. Returns the saved incident, if any.
 */
export function recordAction(r: ActionRecord, deps: RecordDeps, partOf?: { readonly incidentId: string }): { readonly id: string; readonly path: string; readonly chart?: string } | undefined {
  const counted = !r.dryRun;
  if (r.ending.kind === 'threw') {
    // Stays counted when the refusal that follows is recorded (recordRefusal with counted).
    deps.state.set({ key: r.trigger.key, state: 'acted', at: deps.now().getTime(), counted }, true);
    deps.metrics.action(r.plan.action, 'error', r.trigger.source);
    deps.audit.append(stamped(deps.now(), actionAuditEntry(r)));
    deps.logger.error('remediation action failed', { action: r.plan.action, error: r.ending.message });
    return undefined;
  }
  deps.state.set({ key: r.trigger.key, state: r.dryRun ? 'dry_run' : 'acted', at: r.startedAt.getTime(), counted }, true);
  let saved: { id: string; path: string; chart?: string } | undefined;
  // A step of a multi-victim incident: the incident's one report is written when it ends (pipeline).
  const incident = partOf === undefined ? incidentRecord(r) : undefined;
  if (incident !== undefined) {
    try {
      const s = deps.incidents.save(incident, r.growthChart);
      saved = { id: s.record.id, path: s.path, ...(s.record.growth?.chart !== undefined ? { chart: s.record.growth.chart } : {}) };
    } catch (error) {
      deps.logger.error('incident report not written', { error: errorMessage(error) });
    }
  }
  deps.metrics.action(r.plan.action, r.ending.report.result, r.trigger.source);
  deps.audit.append(stamped(deps.now(), actionAuditEntry(r, saved?.id ?? partOf?.incidentId)));
  return saved;
}

/** Records a refusal: state (re-evaluated after refusal_recheck_after), metric, audit line. */
export function recordRefusal(
  trigger: CriticalTrigger,
  entry: Omit<RefusalEntry, 'event' | 'source' | 'alertName' | 'key' | 'fingerprint'>,
  at: Date,
  deps: RecordDeps,
  counted: boolean,
  /** False for a repeat within an episode of identical refusals (refusal-episodes.ts): counted, not written. */
  write = true,
): void {
  deps.metrics.refusal(entry.reasonCode, trigger.source);
  if (counted) deps.state.set({ key: trigger.key, state: 'refused', at: at.getTime(), counted: true }, true);
  else deps.state.set({ key: trigger.key, state: 'refused', at: at.getTime() });
  if (!write) return;
  deps.audit.append(stamped(at, { event: 'refusal', source: trigger.source, alertName: trigger.alertName, key: trigger.key, fingerprint: trigger.fingerprint, ...entry }));
}

/** Records a warning or resolved alert passed on (warnings feed the incident timeline's "first warning"). */
export function recordNotified(trigger: WarningTrigger | ResolvedTrigger, at: Date, deps: RecordDeps, memory?: MemorySummary): void {
  if (trigger.kind === 'warning') {
    deps.state.set({ key: trigger.key, state: 'notified', at: at.getTime(), startsAt: trigger.startsAt.getTime(), alertName: trigger.alertName });
  } else {
    deps.state.set({ key: trigger.key, state: 'notified', at: at.getTime() });
  }
  const entry: NotifiedEntry =
    trigger.kind === 'warning'
      ? { event: 'notified', source: trigger.source, reasonCode: 'warning', reason: trigger.summary, alertName: trigger.alertName, key: trigger.key, memory }
      : { event: 'notified', source: trigger.source, reasonCode: 'resolved', reason: `${trigger.alertName} resolved; no action`, alertName: trigger.alertName, key: trigger.key };
  deps.audit.append(stamped(at, entry));
}

const FIRST_WARNING_LOOKBACK_MS = 24 * 3600 * 1000;

/** The earliest warning notified within a day before the critical signal (the incident timeline). */
export function firstWarning(state: IdempotencyStore, criticalAt: Date): Date | undefined {
  const from = criticalAt.getTime() - FIRST_WARNING_LOOKBACK_MS;
  let first: number | undefined;
  for (const w of state.warnings()) {
    const s = w.startsAt as number;
    if (s >= from && s <= criticalAt.getTime() && (first === undefined || s < first)) first = s;
  }
  return first === undefined ? undefined : new Date(first);
}
