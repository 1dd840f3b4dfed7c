/** What `headroom status` (and the agent's page) shows: plain data, JSON-serialisable. */

export interface HostStatus {
  readonly totalBytes: number;
  readonly availableBytes: number;
  readonly usedRatio: number;
  readonly swapTotalBytes?: number;
  readonly swapUsedBytes?: number;
  /** PSI memory avg10 as shares (0–1); absent without PSI. */
  readonly psiSome10?: number;
  readonly psiFull10?: number;
  readonly psiFull60?: number;
}

export interface TreeStatus {
  readonly pid: number;
  readonly startTicks: number;
  readonly comm: string;
  readonly user?: string;
  readonly cmdline: string;
  readonly cgroup?: string;
  readonly residentBytes: number;
  readonly processes: number;
  /** Of MemTotal. */
  readonly share: number;
  readonly runtimeSeconds: number;
  /** Change since the previous sample of the same tree (pid + start time), when there was one. */
  readonly growthBytes?: number;
  readonly growthSeconds?: number;
}

export interface JobStatus {
  /** The cgroup path relative to the memory hierarchy root, e.g. /headroom.slice/train.py-k3x9z2. */
  readonly cgroup: string;
  readonly name: string;
  readonly usageBytes: number;
  readonly limitBytes?: number;
  readonly highBytes?: number;
  readonly swapBytes?: number;
  readonly swapLimitBytes?: number;
  readonly peakBytes?: number;
  readonly oomKills?: number;
  readonly processes: number;
  readonly command?: string;
  readonly runtimeSeconds?: number;
}

export interface AgentStatus {
  readonly running: boolean;
  /** Why not running, or what is odd ("stale state file: PID 123 has another start time"). */
  readonly note?: string;
  readonly pid?: number;
  readonly url?: string;
  readonly version?: string;
  readonly uptimeSeconds?: number;
  readonly guard?: GuardStatus;
}

export interface GuardStatus {
  readonly enabled: boolean;
  readonly scope: string;
  /** The guard's line: available share below which it acts. */
  readonly availableBelow: number;
  /** available share − availableBelow (negative: below the line). */
  readonly distance: number;
  /** The poll interval the guard uses at this distance. */
  readonly intervalMs: number;
}

export interface IncidentStatus {
  readonly id: string;
  readonly at: string;
  readonly action: string;
  readonly result: string;
  readonly dryRun: boolean;
  readonly source: string;
  readonly alertName: string;
  readonly target: string;
  readonly freedBytes?: number;
}

export interface OutboxStatus {
  /** Messages stored and not finished by every notifier. */
  readonly stored: number;
  /** Per notifier (cursor file): messages it has not finished. */
  readonly pending: Readonly<Record<string, number>>;
  /** Dropped messages per notifier, when known (the running agent's counter; not on disk). */
  readonly failed?: Readonly<Record<string, number>>;
}

export interface Status {
  readonly at: string;
  readonly host: string;
  readonly memory: HostStatus;
  readonly thresholds: { readonly warning: number; readonly critical: number };
  readonly trees: readonly TreeStatus[];
  readonly processCount: number;
  readonly jobs: readonly JobStatus[];
  readonly agent: AgentStatus;
  readonly incidents: readonly IncidentStatus[];
  readonly outbox?: OutboxStatus;
  /** Things that could not be read (permission, missing), for the reader. */
  readonly notes: readonly string[];
}
