import { memoryCgroupPath } from './parse/pid-misc.js';
import type { PidStatus } from './parse/pid-status.js';
import type { ProcFs } from './procfs.js';

/** The expensive-to-read facts about one process, read only for the few processes that matter. */
export interface ProcessDetails {
  readonly status: PidStatus;
  readonly cmdline: readonly string[];
  /** The cgroup that accounts its memory (v1 memory controller path, else the v2 path). */
  readonly cgroup?: string;
  readonly oomScoreAdj?: number;
}

/**
 * Reads status, cmdline, cgroup and oom_score_adj of one process. Throws if the process is gone (the caller
 * skips it); oom_score_adj and cgroup are optional because some kernels or containers hide them.
 */
export function readProcessDetails(proc: ProcFs, pid: number): ProcessDetails {
  const status = proc.pidStatus(pid);
  const cmdline = proc.pidCmdline(pid);
  const cgroup = memoryCgroupPath(proc.pidCgroups(pid));
  const oomScoreAdj = proc.pidOomScoreAdj(pid);
  return { status, cmdline, cgroup, oomScoreAdj };
}

/** A command line for people and labels: arguments joined by spaces, cut to maxChars with an ellipsis. */
export function shortCmdline(cmdline: readonly string[], fallback: string, maxChars: number): string {
  const text = cmdline.length === 0 ? `[${fallback}]` : cmdline.join(' ');
  return text.length <= maxChars ? text : `${text.slice(0, maxChars - 1)}…`;
}
