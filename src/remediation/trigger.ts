import type { ActionOutcome, DecisionSource, RemediationAction } from '../domain/remediation.js';
import type { RefusalCode } from '../policy/types.js';
import type { TargetResult } from '../policy/targets.js';

/**
 * What starts the pipeline. The receiver builds these from Alertmanager alerts (receiver/triggers.ts); the
 * local guard builds a CriticalTrigger per threshold crossing (guardTrigger in ./stages/intake.ts).
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
  /** The machine is stalling (the guard fired on memory pressure): skip evidence capture, act at once. */
  readonly stalling?: boolean;
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

/** What the pipeline did with a trigger (the guard logs it; tests assert it). */
/** Where an incident stands after a step: `open` means memory is still past the line and another step may follow. */
export interface IncidentProgress {
  readonly id: string;
  readonly open: boolean;
  readonly victims: number;
  readonly closedBecause?: string;
  /** Memory is back under the recovered line; the incident stays open until `heldUntil` for re-crossings (close_after). */
  readonly held?: boolean;
  readonly heldUntil?: string;
  /** The step's victim: what it held and freed, and how long from signal to exit (the guard's journal line). */
  readonly victim?: { readonly pid: number; readonly heldBytes: number; readonly freedBytes?: number; readonly exitSeconds?: number; readonly escalated?: boolean };
}

export type Disposition =
  | { readonly kind: 'duplicate'; readonly reason?: string }
  | { readonly kind: 'refusal'; readonly reasonCode: RefusalCode; readonly reason: string; readonly incident?: IncidentProgress }
  | {
      readonly kind: 'action';
      readonly action: RemediationAction;
      readonly result: ActionOutcome;
      readonly dryRun: boolean;
      readonly incidentId?: string;
      readonly incident?: IncidentProgress;
    }
  | { readonly kind: 'notified'; readonly notification: 'warning' | 'resolved' }
  /** An I/O failure outside the action (state, audit, snapshot): audited, nothing done. */
  | { readonly kind: 'failed'; readonly reason: string };
