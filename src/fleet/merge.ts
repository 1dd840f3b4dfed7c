import { alertKey } from '../receiver/triggers.js';
import type { GettableAlert } from './alertmanager-api.js';

/**
 * One host's view of its alerts across the Alertmanagers of an HA cluster. Each member knows every alert
 * (Prometheus sends to all of them) and the cluster gossips silences, so the members agree up to gossip delay.
 * The merge is cautious: an alert any member reports as suppressed is suppressed (a silence that reached one
 * member first wins), one any member has not yet processed waits for the next round, and the same alert from
 * two members (same fingerprint and startsAt) is one alert.
 */
export type MergedState = 'active' | 'suppressed' | 'unprocessed';

export interface MergedAlert {
  readonly key: string;
  readonly alert: GettableAlert;
  readonly state: MergedState;
  readonly silencedBy: readonly string[];
  readonly inhibitedBy: readonly string[];
  readonly receivers: readonly string[];
  /** How many members reported it. */
  readonly seenBy: number;
}

export interface MemberAnswer {
  readonly member: string;
  readonly alerts?: readonly GettableAlert[];
  readonly error?: string;
}

const RANK: Record<MergedState, number> = { active: 0, unprocessed: 1, suppressed: 2 };

/**
 * Merges the answers; alerts whose instance label is not `instance` are dropped (the server-side filter is
 * a convenience, this check is the guarantee that nothing acts on another host's alert).
 */
export function mergeAnswers(answers: readonly MemberAnswer[], instance: string): { readonly alerts: MergedAlert[]; readonly answered: number; readonly foreign: number } {
  const byKey = new Map<string, MergedAlert>();
  let answered = 0;
  let foreign = 0;
  for (const a of answers) {
    if (a.alerts === undefined) continue;
    answered += 1;
    for (const alert of a.alerts) {
      if (alert.labels.instance !== instance) {
        foreign += 1;
        continue;
      }
      const key = alertKey(alert);
      const prev = byKey.get(key);
      const state = alert.status.state;
      const silencedBy = [...new Set([...(prev?.silencedBy ?? []), ...(alert.status.silencedBy ?? [])])].sort();
      const inhibitedBy = [...new Set([...(prev?.inhibitedBy ?? []), ...(alert.status.inhibitedBy ?? [])])].sort();
      const receivers = [...new Set([...(prev?.receivers ?? []), ...alert.receivers.map((r) => r.name)])].sort();
      const merged: MergedState = prev === undefined || RANK[state] > RANK[prev.state] ? state : prev.state;
      byKey.set(key, { key, alert: prev?.alert ?? alert, state: merged, silencedBy, inhibitedBy, receivers, seenBy: (prev?.seenBy ?? 0) + 1 });
    }
  }
  return { alerts: [...byKey.values()].sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0)), answered, foreign };
}
