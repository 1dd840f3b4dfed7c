import type { GuardReading } from './reading.js';

/** What the guard remembers between polls (pure state; the loop keeps one). */
export interface CrossingState {
  /** When available memory first went below the threshold in the current dip (monotonic ms). */
  readonly lowSinceMs?: number;
  /** When PSI full first went above its limit in the current episode. */
  readonly pressureSinceMs?: number;
}

export interface CrossingSettings {
  readonly availableBelow: number;
  readonly sustainMs: number;
  readonly psiFullAbove: number;
  readonly psiSustainMs: number;
}

export type CrossingVerdict =
  | { readonly fire: false; readonly state: CrossingState }
  | {
      readonly fire: true;
      readonly state: CrossingState;
      /** "low_memory" or "memory_pressure". */
      readonly cause: 'low_memory' | 'memory_pressure';
      /** When the condition began (monotonic ms): the crossing the time-to-safety is measured from. */
      readonly sinceMs: number;
      readonly reason: string;
    };

/**
 * Decides whether this poll triggers remediation (pure): available memory has stayed below the threshold
 * for `sustainMs`, or PSI full has stayed above its limit for `psiSustainMs`.
 */
export function evaluateCrossing(prev: CrossingState, reading: GuardReading, nowMs: number, s: CrossingSettings): CrossingVerdict {
  const low = reading.availableRatio < s.availableBelow;
  const pressured = reading.psiFull !== undefined && reading.psiFull > s.psiFullAbove;
  const state: CrossingState = {
    lowSinceMs: low ? (prev.lowSinceMs ?? nowMs) : undefined,
    pressureSinceMs: pressured ? (prev.pressureSinceMs ?? nowMs) : undefined,
  };
  const pct = (r: number): string => `${(r * 100).toFixed(1)} %`;
  if (state.lowSinceMs !== undefined && nowMs - state.lowSinceMs >= s.sustainMs) {
    return {
      fire: true,
      state,
      cause: 'low_memory',
      sinceMs: state.lowSinceMs,
      reason: `available memory of ${reading.memory.scope ?? 'host'} is ${pct(reading.availableRatio)}, below the guard threshold of ${pct(s.availableBelow)}`,
    };
  }
  if (state.pressureSinceMs !== undefined && nowMs - state.pressureSinceMs >= s.psiSustainMs) {
    return {
      fire: true,
      state,
      cause: 'memory_pressure',
      sinceMs: state.pressureSinceMs,
      reason: `memory pressure (PSI full avg10) is ${pct(reading.psiFull ?? 0)}, above the guard limit of ${pct(s.psiFullAbove)}`,
    };
  }
  return { fire: false, state };
}
