import type { IncidentGrowth } from '../incidents/types.js';
import type { TreeGrowth } from '../notify/events.js';

/** Which tree of the history is the victim: its root (pid and start time), else a tree rooted at one of its processes. */
export interface VictimIdentity {
  readonly pid: number;
  /** Epoch seconds with two decimals, as in the plan (startTimeLabel). */
  readonly startTime: string;
  readonly tree?: ReadonlyArray<{ readonly pid: number; readonly startTime: string }>;
  /** Its ancestors, nearest first (the history's job tree may be one of them when the policy descended into a child). */
  readonly ancestors?: ReadonlyArray<{ readonly pid: number; readonly startTime: string }>;
}

/**
 * The agent's short history as remediation sees it (issue #11): the victim's growth for the incident report
 * and its chart, and what a warning can say about growth. The agent wires src/history/growth.ts to it.
 */
export interface GrowthSource {
  incident(victim: VictimIdentity | undefined, times: { readonly firstWarningMs?: number; readonly criticalMs: number; readonly actionMs: number }): { readonly growth: IncidentGrowth; readonly chartSvg?: string };
  warning(nowMs: number): TreeGrowth | undefined;
}
