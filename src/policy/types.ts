import type { KubePodIndex } from '../procfs/kube-pods.js';
import type { MemorySummary } from '../domain/summaries.js';
import type { AlertTarget, PlanTarget, RefusalCode, RemediationAction } from '../domain/remediation.js';

export type { AlertTarget, PlanTarget, ProcessIdentity, RefusalCode } from '../domain/remediation.js';
import type { ProcessTable } from '../procfs/process-table.js';
import type { MemoryElsewhere } from '../unowned/analysis.js';

/**
 * The inputs and outputs of the remediation policy. Everything here is plain data: the policy is a set of
 * pure functions of (trigger, snapshot, settings), tested without any I/O.
 */

/** The per-process facts the policy needs beyond /proc/PID/stat. Absent when they could not be read. */
export interface ProcessDetailsLite {
  readonly cmdline: readonly string[];
  readonly oomScoreAdj?: number;
  /** The cgroup that accounts the process's memory (relative to the memory hierarchy root). */
  readonly cgroup?: string;
  readonly uid?: number;
  /** VmSwap: memory of the process pushed to swap (it still holds it). Absent when the kernel does not say. */
  readonly swapBytes?: number;
}

/** Looks up a process's details. */
export interface DetailsLookup {
  get(pid: number): ProcessDetailsLite | undefined;
}

/** One cgroup the trigger names (or the guard watches), as read for this decision. */
export interface CgroupFacts {
  readonly path: string;
  readonly exists: boolean;
  readonly version?: 'v1' | 'v2';
  /** The cgroup's working set (usage − inactive file cache; usage where the kernel gives no split). */
  readonly usageBytes?: number;
  readonly limitBytes?: number;
  /** PIDs of every task in the cgroup and its descendants. */
  readonly pids: readonly number[];
}

/** A moment of the machine: what decide() sees. Built by a SnapshotReader (I/O) or by a test (no I/O). */
export interface Snapshot {
  /** Wall-clock time of the read. */
  readonly at: Date;
  /** Memory of the scope the decision is about: the host, or the cgroup the guard watches. */
  readonly memory: MemorySummary;
  /** MemTotal of the host (percent sizes resolve against it). */
  readonly hostMemTotalBytes: number;
  readonly processes: ProcessTable;
  /**
   * Details per PID (a Map in tests; read lazily and memoized by the live reader, since reading them for
   * thousands of processes costs seconds). Undefined: could not be read — treated as unverifiable.
   */
  readonly details: DetailsLookup;
  /** The cgroup named by the trigger, when there is one. */
  readonly cgroup?: CgroupFacts;
  /** The agent's own PID and its parent: never targets. */
  readonly self: { readonly pid: number; readonly ppid: number };
  /** kube: pod and container names of this node, listed on first use (absent: not read, e.g. in tests). */
  readonly kubePods?: () => KubePodIndex;
  /**
   * Where memory no process owns is (tmpfs files, SysV segments, kernel slab): read on demand (bounded in time
   * and files) and memoized per snapshot, since only a host decision that cannot explain the memory needs it.
   * Absent: not available (tests, readers without it).
   */
  readonly elsewhere?: () => MemoryElsewhere | undefined;
  /**
   * meminfo Shmem + SUnreclaim: a cheap upper bound of what `elsewhere` can find (tmpfs and SysV segments are
   * in Shmem), so a victim larger than it needs no file walk.
   */
  readonly elsewhereUpperBoundBytes?: number;
}

/** Compiled regex lists. */
export interface Matchers {
  readonly comm: readonly RegExp[];
  readonly cmdline: readonly RegExp[];
}

/** The policy's view of the config (remediation section), with sizes resolved lazily against MemTotal. */
export interface PolicySettings {
  readonly minVictimBytes: (memTotalBytes: number) => number;
  readonly protect: Matchers;
  readonly prefer: Matchers;
  readonly avoid: Matchers;
  readonly recovered: {
    readonly hostUsedBelow: number;
    readonly cgroupUsedBelow: number;
    readonly processTreeShareBelow: number;
  };
  readonly actions: {
    readonly host: RemediationAction;
    readonly process: RemediationAction;
    readonly cgroup: RemediationAction;
    readonly byAlertName: Readonly<Record<string, RemediationAction>>;
  };
  readonly dropCachesEnabled: boolean;
  readonly throttleRatio: number;
  readonly limits: {
    readonly actionsPerWindow: number;
    readonly windowMs: number;
    readonly cooldownMs: number;
  };
  /** Bounds of one incident (remediation.incident). */
  readonly incident: {
    readonly maxVictims: number;
    /** Bytes the victims of one incident may hold together, against the guarded memory's total. */
    readonly maxReclaimBytes: (totalBytes: number) => number;
    readonly settleMs: number;
    readonly killBelow: number;
    readonly escalateAfterMs: number;
    /** After recovery the incident stays open this long; a re-crossing within it continues it (remediation.incident.close_after). */
    readonly closeAfterMs: number;
  };
}

/** What decide() is asked about. */
export interface DecisionRequest {
  readonly alertName: string;
  readonly target: AlertTarget;
}

export interface Plan {
  readonly kind: 'plan';
  readonly action: RemediationAction;
  readonly target: PlanTarget;
  /** The sentence for people: why this target and this action. */
  readonly reason: string;
  /** Memory the target holds at decision time: resident + swapped for a process tree, usage for a cgroup. */
  readonly targetBytes: number;
  /** Of targetBytes, in swap (process trees). */
  readonly targetSwapBytes?: number;
}

export interface Refusal {
  readonly kind: 'refusal';
  readonly reasonCode: RefusalCode;
  readonly reason: string;
  /** PIDs of the candidates that were considered, largest first (for the notification). */
  readonly candidates?: readonly number[];
}

export type Decision = Plan | Refusal;
