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

/**
 * What a remediation step tells the guard (issue 14): `continue` — the incident is open, memory still past the
 * recovered line: settle, then take the next step; `hold` — the incident ended at one of its limits: open no
 * new incident until memory has come back above the guard line.
 */
export interface GuardStep {
  readonly continue: boolean;
  readonly hold?: boolean;
  /** What the step's victim freed (its memory should show up as available before the next step). */
  readonly freedBytes?: number;
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
  readonly remediate: (crossing: GuardCrossing) => Promise<GuardStep | void>;
  readonly logger: Logger;
  /** After a victim exited, wait at most this long for its memory to show up as available (remediation.incident.settle). */
  readonly settleMs?: number;
}

/**
 * Whether the previous victim's memory has been seen freed (pure): available memory rose by at least half of
 * what it held, or the settle time is up.
 */
export function settled(availableBefore: number, availableNow: number, freedBytes: number | undefined, elapsedMs: number, settleMs: number): boolean {
  if (elapsedMs >= settleMs) return true;
  if (freedBytes === undefined || freedBytes <= 0) return false;
  return availableNow - availableBefore >= freedBytes / 2;
}

/**
 * The local guard loop: read → evaluate the crossing (pure) → remediate, with a poll interval that adapts to the distance
 * from the threshold (about 100 ms near it, up to 1 s far from it). Runs until the signal aborts. A failed
 * read or remediation is logged and the loop goes on: the guard must outlive a bad moment.
 */
export async function runGuard(deps: GuardDeps, signal: AbortSignal): Promise<void> {
  const s = deps.settings;
  let state: CrossingState = {};
  // Within one dip, "guard fired" is logged once (quiet logs: repeated refusals are coalesced downstream).
  let firedInDip = false;
  // An incident ended at a limit: no new one until memory is back above the line.
  let holding = false;
  while (!signal.aborted) {
    let interval = s.minIntervalMs;
    try {
      const reading = deps.read();
      const nowMs = deps.monotonicMs();
      const past = isPast(reading, s);
      if (!past) {
        firedInDip = false;
        if (holding) deps.logger.info('guard: memory back above the line; a new incident may start');
        holding = false;
      }
      const verdict = evaluateCrossing(state, reading, nowMs, s);
      state = verdict.state;
      interval = nextPollInterval(reading.availableRatio, s.availableBelow, s.minIntervalMs, s.maxIntervalMs);
      if (verdict.fire && !holding) {
        const crossedAt = new Date(deps.now().getTime() - (nowMs - verdict.sinceMs));
        if (!firedInDip) deps.logger.warn('guard fired', { cause: verdict.cause, reason: verdict.reason, scope: reading.memory.scope });
        firedInDip = true;
        const crossing: GuardCrossing = {
          cause: verdict.cause,
          reason: verdict.reason,
          reading,
          crossedAt,
          crossedAtMs: verdict.sinceMs,
          firedAtMs: nowMs,
          watchCgroup: deps.watchCgroup,
        };
        // One incident: step after step (each on a fresh read and ranking, in the pipeline) while it stays open.
        let before = reading;
        let step = await deps.remediate(crossing);
        while (step?.continue === true && !signal.aborted) {
          before = await settle(deps, before, step.freedBytes, signal);
          step = await deps.remediate({ ...crossing, reading: before, firedAtMs: deps.monotonicMs() });
        }
        if (step?.hold === true) {
          holding = true;
          deps.logger.warn('guard holding: the incident reached its limits; no new incident until memory is back above the line');
        }
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

function isPast(r: GuardReading, s: CrossingSettings): boolean {
  return r.availableRatio < s.availableBelow || (r.psiFull !== undefined && r.psiFull > s.psiFullAbove);
}

/** Waits (polling at the minimum interval) until the previous victim's memory has been seen freed, or the settle time is up; returns the last reading. */
async function settle(deps: GuardDeps, before: GuardReading, freedBytes: number | undefined, signal: AbortSignal): Promise<GuardReading> {
  const settleMs = deps.settleMs ?? 2000;
  const start = deps.monotonicMs();
  for (;;) {
    const now = deps.read();
    if (settled(before.memory.availableBytes, now.memory.availableBytes, freedBytes, deps.monotonicMs() - start, settleMs) || signal.aborted) return now;
    await deps.sleep(deps.settings.minIntervalMs, signal);
  }
}
