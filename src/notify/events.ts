/**
 * The contract between what decides (receiver, guard, runner) and what tells people (notify/). A
 * notification is plain data: rendering it for Slack or a log is a pure function of it, and the durable outbox
 * stores it as JSON.
 */

/** One process as people need to see it in a message. */
export interface ProcessSummary {
  readonly pid: number;
  /** The start_time label value (epoch seconds, two decimals): with pid, the process identity. */
  readonly startTime: string;
  readonly comm: string;
  readonly user?: string;
  /** Already shortened for display. */
  readonly cmdline: string;
  readonly residentBytes: number;
  /** The process plus its descendants. */
  readonly treeResidentBytes?: number;
  readonly treeProcesses?: number;
  readonly runtimeSeconds?: number;
  readonly cpuSeconds?: number;
  readonly cgroup?: string;
  /** kube: the Kubernetes pod the process runs in (names from the kubelet's log directories, else the UID). */
  readonly pod?: PodSummary;
}

/** kube: a pod as messages show it. `name` is the pod UID when the name could not be read. */
export interface PodSummary {
  readonly namespace?: string;
  readonly name: string;
  readonly container?: string;
}

/** Host (or watched cgroup) memory at one moment. */
export interface MemorySummary {
  readonly totalBytes: number;
  readonly availableBytes: number;
  /** 1 − available/total. */
  readonly usedRatio: number;
  readonly swapTotalBytes?: number;
  readonly swapUsedBytes?: number;
  /** What "memory" means here: "host" or "cgroup /path" (the guard can watch a cgroup as its machine). */
  readonly scope?: string;
}

export type RemediationAction = 'stop_process_tree' | 'stop_cgroup' | 'throttle' | 'protect' | 'drop_caches';

/** Who decided: the Prometheus → Alertmanager → receiver path, or the agent's local guard. */
export type DecisionSource = 'receiver' | 'guard';

interface Base {
  /** Unique per notification; used for idempotent delivery from the outbox. */
  readonly id: string;
  readonly host: string;
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

export type Notification = WarningNotification | ActionNotification | RefusalNotification | ResolvedNotification;

/** Every Notification['kind'] (the outbox and the service check stored and published notifications against it). */
export const NOTIFICATION_KINDS: ReadonlySet<string> = new Set<Notification['kind']>(['warning', 'action', 'refusal', 'resolved']);

/**
 * Where deciders hand notifications. `publish` stores the notification durably (it survives a crash or a
 * Slack outage) before it returns; delivery happens in the background, in order.
 */
export interface NotificationSink {
  publish(notification: Notification): void;
}
