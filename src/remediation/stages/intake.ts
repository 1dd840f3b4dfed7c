import type { DuplicateEntry } from '../../audit/audit-log.js';
import type { IdempotencyStore } from '../idempotency.js';
import type { CriticalTrigger, Trigger } from '../trigger.js';

/**
 * Stage 1, dedupe (pure but for the state lookup): a trigger whose key was handled already is a repeat; a
 * refused key becomes new again after `refusalRecheckMs` (Alertmanager repeats firing alerts). Keys waiting in
 * the queue are repeats too (the pipeline passes them as `queued`).
 */
export function isRepeat(trigger: Trigger, state: IdempotencyStore, nowMs: number, refusalRecheckMs: number, queued: ReadonlySet<string>): boolean {
  if (queued.has(trigger.key)) return true;
  const rec = state.get(trigger.key);
  if (rec === undefined) return false;
  if (rec.state === 'refused') return nowMs - rec.at < refusalRecheckMs;
  return true;
}

/** The audit line of a repeat. */
export function duplicateEntry(trigger: Trigger, state: IdempotencyStore, route?: string): DuplicateEntry {
  const rec = state.get(trigger.key);
  return {
    event: 'duplicate',
    source: trigger.source,
    reasonCode: 'duplicate',
    reason: rec ? `already handled (${rec.state} at ${new Date(rec.at).toISOString()})` : 'already queued',
    alertName: trigger.alertName,
    key: trigger.key,
    ...(route !== undefined ? { route } : {}),
  };
}

/** For the guard: a critical trigger for a threshold crossing of the host or of a watched cgroup. */
export function guardTrigger(crossing: { readonly at: Date; readonly scope?: string; readonly alertName?: string; readonly stalling?: boolean }): CriticalTrigger {
  const scope = crossing.scope;
  return {
    kind: 'critical',
    source: 'guard',
    key: `guard|${scope ?? 'host'}|${crossing.at.getTime()}`,
    alertName: crossing.alertName ?? 'HeadroomGuard',
    target: { ok: true, target: scope === undefined ? { kind: 'host' } : { kind: 'host', within: scope } },
    startsAt: crossing.at,
    scope,
    ...(crossing.stalling ? { stalling: true } : {}),
  };
}
