import type { Logger } from '../logging/logger.js';
import { errorMessage } from '../logging/logger.js';
import { nextPollInterval } from './interval.js';
import type { GuardReading } from './reading.js';
import { evaluateCrossing, type CrossingSettings, type CrossingState } from './crossing.js';

/** What the guard hands to remediation when it fires: one threshold crossing (the pipeline turns it into a Trigger). */
export interface GuardCrossing {
  readonly cause: 'low_memory' | 'memory_pressure';
  readonly reason: string;
  readonly reading: GuardReading;
  /** Wall-clock time the condition began (the crossing). */
  readonly crossedAt: Date;
  /** Monotonic ms of the crossing and of the decision to act, for time-to-safety measurements. */
  readonly crossedAtMs: number;
  readonly firedAtMs: number;
  /** The cgroup the guard watches as its machine, if any. */
  readonly watchCgroup?: string;
}

export interface GuardDeps {
  readonly read: () => GuardReading;
  readonly settings: CrossingSettings & { readonly minIntervalMs: number; readonly maxIntervalMs: number };
  readonly watchCgroup?: string;
  /** Monotonic milliseconds. */
  readonly monotonicMs: () => number;
  readonly now: () => Date;
  readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Runs the shared remediation pipeline; resolves when the decision (and any action) is done. */
  readonly remediate: (crossing: GuardCrossing) => Promise<void>;
  readonly logger: Logger;
}

/**
 * The local guard loop: read → evaluate the crossing (pure) → remediate, with a poll interval that adapts to the distance
 * from the threshold (about 100 ms near it, up to 1 s far from it). Runs until the signal aborts. A failed
 * read or remediation is logged and the loop goes on: the guard must outlive a bad moment.
 */
export async function runGuard(deps: GuardDeps, signal: AbortSignal): Promise<void> {
  const s = deps.settings;
  let state: CrossingState = {};
  while (!signal.aborted) {
    let interval = s.minIntervalMs;
    try {
      const reading = deps.read();
      const nowMs = deps.monotonicMs();
      const verdict = evaluateCrossing(state, reading, nowMs, s);
      state = verdict.state;
      interval = nextPollInterval(reading.availableRatio, s.availableBelow, s.minIntervalMs, s.maxIntervalMs);
      if (verdict.fire) {
        const crossedAt = new Date(deps.now().getTime() - (nowMs - verdict.sinceMs));
        deps.logger.warn('guard fired', { cause: verdict.cause, reason: verdict.reason, scope: reading.memory.scope });
        await deps.remediate({
          cause: verdict.cause,
          reason: verdict.reason,
          reading,
          crossedAt,
          crossedAtMs: verdict.sinceMs,
          firedAtMs: nowMs,
          watchCgroup: deps.watchCgroup,
        });
        // A new dip after this one is a new condition: start its clock afresh.
        state = {};
        interval = s.minIntervalMs;
      }
    } catch (error) {
      deps.logger.error('guard poll failed', { error: errorMessage(error) });
    }
    await deps.sleep(interval, signal);
  }
}
