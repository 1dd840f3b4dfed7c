/**
 * Memory and processes as every layer shows them (decisions, audit, incidents, notifications): plain data,
 * already shortened for people.
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
  /**
   * Of what the tree holds, in swap (VmSwap, read for plausible victims only; issue 14: a process pushed to swap
   * still holds that memory). Absent or 0: none seen.
   */
  readonly treeSwapBytes?: number;
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
