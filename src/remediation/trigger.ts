import type { DecisionSource } from '../domain/remediation.js';
import type { RefusalCode } from '../policy/types.js';
import type { TargetResult } from '../policy/targets.js';

/**
 * What starts the pipeline. The receiver builds these from Alertmanager alerts; the local guard builds a
 * CriticalTrigger per threshold crossing (source "guard", key unique per crossing, target host or
 * {kind: 'host', within: cgroup} with `scope` set to the watched cgroup).
 */
export interface CriticalTrigger {
  readonly kind: 'critical';
  readonly source: DecisionSource;
  /** Idempotency key: "fingerprint|startsAt" for alerts, e.g. "guard|host|<crossing ms>" for the guard. */
  readonly key: string;
  readonly alertName: string;
  readonly target: TargetResult;
  /** The first critical signal (alert startsAt, guard crossing): the start of time-to-resolution. */
  readonly startsAt: Date;
  /** Watch this cgroup as the machine (its usage vs limit) instead of the host. */
  readonly scope?: string;
  /** Refuse without deciding (e.g. a truncated Alertmanager notification). */
  readonly refuse?: { readonly code: RefusalCode; readonly reason: string };
  readonly fingerprint?: string;
}

export interface WarningTrigger {
  readonly kind: 'warning';
  readonly source: DecisionSource;
  readonly key: string;
  readonly alertName: string;
  readonly severity: 'warning' | 'info';
  readonly summary: string;
  readonly description?: string;
  readonly runbookUrl?: string;
  readonly startsAt: Date;
  readonly predictedExhaustionSeconds?: number;
  readonly fingerprint?: string;
}

export interface ResolvedTrigger {
  readonly kind: 'resolved';
  readonly source: DecisionSource;
  readonly key: string;
  readonly alertName: string;
  readonly summary: string;
  readonly startsAt: Date;
  readonly endsAt: Date;
  readonly fingerprint?: string;
}

export type Trigger = CriticalTrigger | WarningTrigger | ResolvedTrigger;

/** What the pipeline did with a trigger. */
export type Outcome =
  | { readonly kind: 'duplicate' }
  | { readonly kind: 'refusal'; readonly reasonCode: RefusalCode; readonly reason: string }
  | { readonly kind: 'action'; readonly action: string; readonly result: string; readonly dryRun: boolean; readonly incidentId?: string }
  | { readonly kind: 'notified'; readonly notification: 'warning' | 'resolved' };
