/**
 * The contract between what decides (receiver, guard, runner) and what tells people (notify/). A
 * notification is plain data: rendering it for Slack or a log is a pure function of it, and the durable outbox
 * stores it as JSON.
 */

import type { MemorySummary, ProcessSummary } from '../domain/summaries.js';
import type { DecisionSource, RemediationAction } from '../domain/remediation.js';

// Part of the contract: notifications embed these shared types (they are defined in src/domain/).
export type { MemorySummary, ProcessSummary } from '../domain/summaries.js';
export type { DecisionSource, RemediationAction } from '../domain/remediation.js';

interface Base {
  /** Unique per notification; used for idempotent delivery from the outbox. */
  readonly id: string;
  readonly host: string;
  /** What kind of machine the host is ("Google Compute Engine (VM), Debian 12, 8 CPUs"), read once at agent start. */
  readonly machine?: string;
  /** When the event happened (ISO 8601). */
  readonly at: string;
  readonly alertName: string;
}

export interface WarningNotification extends Base {
  readonly kind: 'warning';
  readonly severity: 'warning' | 'info';
  readonly summary: string;
  readonly description?: string;
  readonly startsAt: string;
  readonly memory?: MemorySummary;
  /** What is growing: the largest processes now. */
  readonly topProcesses: readonly ProcessSummary[];
  /** Seconds until MemAvailable reaches 0 at the current trend, when known. */
  readonly predictedExhaustionSeconds?: number;
  readonly runbookUrl?: string;
  /** Where memory no process owns is, when it is a notable share (tmpfs files, SysV shm, kernel slab). */
  readonly memoryElsewhere?: string;
  /** Which tree is growing and how fast, from the agent's short history; absent when it cannot say. */
  readonly growth?: TreeGrowth;
}

/** The tree growing fastest now (the agent's short history, src/history/growth.ts) and when memory runs out at its rate. */
export interface TreeGrowth {
  readonly pid: number;
  readonly comm: string;
  /** Least-squares slope of the tree's resident bytes over the last `overSeconds`. */
  readonly bytesPerSecond: number;
  readonly overSeconds: number;
  /** Seconds until MemAvailable (+ free swap when `includesSwap`) is used up at this rate. */
  readonly exhaustionSeconds: number;
  readonly includesSwap: boolean;
  /** MemAvailable (+ free swap) when predicted. */
  readonly headroomBytes: number;
}

export interface ActionNotification extends Base {
  readonly kind: 'action';
  readonly source: DecisionSource;
  readonly action: RemediationAction;
  readonly dryRun: boolean;
  readonly target: { readonly process?: ProcessSummary; readonly cgroup?: string };
  readonly reason: string;
  readonly memoryBefore: MemorySummary;
  readonly memoryAfter?: MemorySummary;
  readonly freedBytes?: number;
  /** From the first critical signal (alert startsAt or guard crossing) to confirmed recovery. */
  readonly timeToResolutionSeconds?: number;
  readonly incidentId?: string;
  readonly incidentReportPath?: string;
  /** One line from the evidence captured before the action ("reading /data/x.parquet (18.3 GiB), 64 threads, …"). */
  readonly diagnosis?: string;
  /** One line from the growth history ("grew 210 MiB/s over the last 4 m; growth began …"). */
  readonly growth?: string;
  /** File name of the memory chart next to the report (served at /incidents/<chart>). */
  readonly chart?: string;
}

export interface RefusalNotification extends Base {
  readonly kind: 'refusal';
  readonly source: DecisionSource;
  /** Machine-readable reason code, e.g. "protected", "pid_reused", "recovered", "rate_limited", "below_minimum". */
  readonly reasonCode: string;
  /** The sentence for people: why nothing was killed. */
  readonly reason: string;
  readonly memory?: MemorySummary;
  readonly candidates?: readonly ProcessSummary[];
}

export interface ResolvedNotification extends Base {
  readonly kind: 'resolved';
  readonly summary: string;
  readonly startsAt: string;
  readonly endsAt: string;
  readonly durationSeconds?: number;
}

/**
 * An incident ended (issue 14): the one follow-up to its first action message — every victim in order, what
 * each held and freed, the jobs they belonged to, and why the incident ended.
 */
export interface IncidentNotification extends Base {
  readonly kind: 'incident';
  readonly source: DecisionSource;
  readonly incidentId: string;
  /** recovered, max_victims, max_reclaim, no_candidate, action_failed, refused. */
  readonly closedBecause: string;
  readonly reason: string;
  readonly victims: ReadonlyArray<{ readonly pid: number; readonly cmdline: string; readonly heldBytes: number; readonly swapBytes?: number; readonly freedBytes?: number; readonly exitSeconds?: number; readonly escalated?: boolean }>;
  readonly jobs: ReadonlyArray<{ readonly commandKey: string; readonly victims: number; readonly stillRunning: number }>;
  readonly reclaimedBytes: number;
  readonly memoryBefore: MemorySummary;
  readonly memoryAfter?: MemorySummary;
  readonly durationSeconds?: number;
  readonly incidentReportPath?: string;
  /** File name of the memory chart next to the report (served at /incidents/<chart>). */
  readonly chart?: string;
}

export type Notification = WarningNotification | ActionNotification | RefusalNotification | ResolvedNotification | IncidentNotification;

/** Every Notification['kind'] (the outbox and the service check stored and published notifications against it). */
export const NOTIFICATION_KINDS: ReadonlySet<string> = new Set<Notification['kind']>(['warning', 'action', 'refusal', 'resolved', 'incident']);

/**
 * Where deciders hand notifications. `publish` stores the notification durably (it survives a crash or a
 * Slack outage) before it returns; delivery happens in the background, in order.
 */
export interface NotificationSink {
  publish(notification: Notification): void;
}
