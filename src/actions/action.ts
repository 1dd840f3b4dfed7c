import type { ActionResult, RemediationAction } from '../domain/remediation.js';
import type { Plan, ProcessIdentity } from '../policy/types.js';

/** Processes as actions see them: identity checks and signals (never by name, never a shell). */
export interface ProcessControl {
  /** The PID's identity and resident bytes now; undefined when it is gone or a zombie. */
  identify(pid: number): (ProcessIdentity & { readonly residentBytes: number }) | undefined;
  /** Sends the signal only when the PID still has this start time (a reused PID is never signalled). */
  signal(id: ProcessIdentity, signal: 'SIGTERM' | 'SIGKILL'): 'sent' | 'gone';
  /**
   * Live descendants of a process now. With `cgroup` (the process's memory cgroup), only that cgroup's tasks
   * are read, not all of /proc: children inherit their parent's cgroup, and the guard's time to act must not
   * grow with the machine's process count.
   */
  descendants(pid: number, cgroup?: string): ProcessIdentity[];
  oomScoreAdj(pid: number): number;
  setOomScoreAdj(pid: number, value: number): void;
}

/** One cgroup hierarchy's control files (paths relative to the memory hierarchy root). */
export interface CgroupControl {
  readonly version: 'v1' | 'v2';
  /** A control file's text, or undefined when it does not exist. */
  read(path: string, file: string): string | undefined;
  write(path: string, file: string, value: string): void;
  /** PIDs in the cgroup and its descendants. */
  pids(path: string): number[];
  /** The kernel's freezer for these cgroups (evidence capture freezes a cgroup target before it is stopped). */
  readonly freezer?: CgroupFreezer;
}

/**
 * Freezing a whole cgroup: v2 `cgroup.freeze` (kernel 5.2+) in the same hierarchy; v1 the `freezer` hierarchy's
 * `freezer.state`, where a freezer cgroup exists at the same path (Docker, Kubernetes and runc create one per
 * container; systemd does not). A frozen v1 task does not even die from SIGKILL until it is thawed, so whoever
 * signals a frozen cgroup thaws it right after (src/evidence/capture.ts).
 */
export interface CgroupFreezer {
  readonly kind: 'cgroup_v2_freeze' | 'cgroup_v1_freezer';
  /** Asks the kernel to freeze the cgroup; false when there is no freezer for this path (nothing was written). */
  freeze(path: string): boolean;
  /** True once every task of the cgroup is frozen (v2 `cgroup.events` frozen 1, v1 state FROZEN). */
  isFrozen(path: string): boolean;
  /** Thaws the cgroup; a cgroup that is gone meanwhile is not an error. */
  thaw(path: string): void;
}

/** Everything an action may touch, injected. */
export interface ActionEnv {
  /** Report what would be done, change nothing. */
  readonly dryRun: boolean;
  readonly processes: ProcessControl;
  /** Undefined when the machine has no cgroup memory controller. */
  readonly cgroups?: CgroupControl;
  /** /proc/meminfo in bytes (drop_caches before/after). */
  readonly meminfo: () => ReadonlyMap<string, number>;
  /** Writes a kernel control file (drop_caches). */
  readonly writeFile: (path: string, text: string) => void;
  readonly dropCachesPath: string;
  readonly sleep: (ms: number) => Promise<void>;
  /** Monotonic seconds. */
  readonly monotonic: () => number;
  readonly killGraceMs: number;
  /** How long to wait for processes to disappear after SIGKILL / cgroup.kill. */
  readonly confirmTimeoutMs: number;
  readonly pollMs: number;
  readonly throttleRatio: number;
  readonly protectSshd: { readonly oomScoreAdj: number; readonly memoryLowBytes?: number };
  /**
   * Escalation under thrash (./escalation.ts): SIGKILL after `escalateAfterMs` instead of the whole grace while
   * the guarded memory's available share (read by `availableRatio`) stays below `killBelow`. Absent: the grace.
   */
  readonly escalation?: { readonly escalateAfterMs: number; readonly killBelow: number; readonly availableRatio: () => number | undefined };
}

export type { ActionResult } from '../domain/remediation.js';

/** What an action did, with before/after numbers (bytes, counts) for the audit log and incident report. */
export interface ActionReport {
  readonly action: RemediationAction;
  readonly dryRun: boolean;
  readonly result: ActionResult;
  readonly detail: string;
  readonly before: Readonly<Record<string, number>>;
  readonly after: Readonly<Record<string, number>>;
  /** Memory the stopped processes (or cgroup) held and gave back. */
  readonly freedBytes?: number;
  readonly durationSeconds: number;
  readonly signalled: readonly ProcessIdentity[];
  readonly remaining: readonly ProcessIdentity[];
  /** SIGKILL was sent before the grace ended, because memory was still below the kill line. */
  readonly escalated?: boolean;
}

/** One remediation action. Each lives in its own file; dry-run is handled inside the action. */
export interface Action {
  readonly name: RemediationAction;
  run(plan: Plan, env: ActionEnv): Promise<ActionReport>;
}

/** Waits until check() is true or the timeout passes; returns whether it became true. */
export async function waitUntil(env: ActionEnv, timeoutMs: number, check: () => boolean): Promise<boolean> {
  const deadline = env.monotonic() + timeoutMs / 1000;
  for (;;) {
    if (check()) return true;
    if (env.monotonic() >= deadline) return false;
    await env.sleep(Math.min(env.pollMs, Math.max(1, (deadline - env.monotonic()) * 1000)));
  }
}
