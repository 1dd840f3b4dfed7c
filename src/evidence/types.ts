/**
 * What headroom captured about a victim right before acting on it (issue #11): plain data, stored in the
 * incident record, rendered in the report's "Evidence" section and summed up in one line for Slack. Values of
 * environment variables appear only for names on the allowlist; every other variable is never read into here.
 */

export interface OpenFile {
  readonly fd: number;
  readonly path: string;
  readonly sizeBytes: number;
}

export interface ChildEvidence {
  readonly pid: number;
  readonly comm: string;
  readonly cmdline: string;
  readonly residentBytes?: number;
}

export interface MemoryBreakdown {
  readonly rssBytes?: number;
  readonly anonBytes?: number;
  readonly fileBytes?: number;
  readonly shmemBytes?: number;
  readonly swapBytes?: number;
  /** From smaps_rollup, only under the configured size guard (it walks page tables). */
  readonly pssBytes?: number;
}

export interface ProcessEvidence {
  readonly pid: number;
  readonly startTime: string;
  readonly comm: string;
  readonly cmdline: readonly string[];
  readonly cwd?: string;
  readonly exe?: string;
  readonly uid?: number;
  readonly user?: string;
  readonly threads?: number;
  readonly memory: MemoryBreakdown;
  /** /proc/PID/io: bytes actually read from / written to storage, and all read()/write() bytes. */
  readonly io?: { readonly readBytes?: number; readonly writeBytes?: number; readonly rchar?: number; readonly wchar?: number };
  /** Largest open regular files first (bounded). */
  readonly openFiles: readonly OpenFile[];
  /** How many fds were open (all kinds). */
  readonly openFds?: number;
  /** Allowlisted variables: value, or null when the variable is not set. */
  readonly env: Readonly<Record<string, string | null>>;
  /** Variables present but not on the allowlist (names and values never recorded). */
  readonly envOthers?: number;
  readonly children: readonly ChildEvidence[];
}

export interface PythonStacks {
  readonly status: 'captured' | 'not_available' | 'timed_out' | 'failed' | 'skipped';
  /** py-spy dump output (bounded), when captured. */
  readonly text?: string;
  readonly detail?: string;
}

export interface Evidence {
  /** When capture started (ISO). */
  readonly at: string;
  /** How the victim was kept from growing during capture. */
  readonly frozen: 'sigstop' | 'cgroup_v2_freeze' | 'cgroup_v1_freezer' | 'none';
  readonly frozenPids: number;
  readonly budgetMs: number;
  readonly spentMs: number;
  /** Captured at all? false when skipped (machine stalling, disabled). */
  readonly captured: boolean;
  /** What was not captured, and why (budget, permission, stalling, py-spy missing …). */
  readonly notCaptured: readonly string[];
  /** The evidence's process: the victim tree's root, or for a cgroup target the cgroup's largest task. */
  readonly process?: ProcessEvidence;
  /** For a cgroup target (stop_cgroup): the cgroup as the kernel accounts it. */
  readonly cgroup?: CgroupEvidence;
  readonly python: PythonStacks;
}

/** What a cgroup's memory files say (memory.current / memory.stat, or v1's usage and total_* stats). */
export interface CgroupMemoryEvidence {
  readonly usageBytes?: number;
  readonly limitBytes?: number;
  readonly anonBytes?: number;
  readonly fileBytes?: number;
  readonly shmemBytes?: number;
  readonly swapBytes?: number;
}

/** A cgroup target at capture time: its accounting, its task count and its largest task. */
export interface CgroupEvidence extends CgroupMemoryEvidence {
  readonly path: string;
  readonly tasks: number;
  /** The task whose evidence is in `process` (the largest by resident + swap), when one was found. */
  readonly largestPid?: number;
}
