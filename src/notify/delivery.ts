import type { Notification } from './events.js';
import type { Notifier, SendFailure, Sleep } from './notifier.js';
import { errorMessage } from '../logging/logger.js';

/**
 * The one place that retries (after Alertmanager's RetryStage): exponential backoff with jitter between
 * attempts of one notifier, Retry-After honoured for 429, a give-up age after which a message is dropped.
 */
export interface RetryPolicy {
  /** Wait after the first failure; doubles per failure. */
  readonly initialBackoffMs: number;
  /** Backoff never exceeds this (Retry-After may: Slack decides how long it is rate limited). */
  readonly maxBackoffMs: number;
  /** A message still undelivered this long after it was published is dropped. */
  readonly giveUpAfterMs: number;
  /** Upper bound on a Retry-After we honour, against absurd values. */
  readonly maxRetryAfterMs: number;
  /** Hard bound on attempts for one message (a bounded loop even with a clock that does not move). */
  readonly maxAttempts: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  initialBackoffMs: 1000,
  maxBackoffMs: 5 * 60_000,
  giveUpAfterMs: 24 * 3_600_000,
  maxRetryAfterMs: 3_600_000,
  maxAttempts: 100_000,
};

export interface DeliveryDeps {
  /** Wall clock, epoch milliseconds. */
  readonly now: () => number;
  readonly sleep: Sleep;
  /** Uniform in [0, 1): jitter. */
  readonly random: () => number;
  /** Aborts waiting and the in-flight attempt: the service is stopping. */
  readonly signal: AbortSignal;
  /** Told about every failed attempt before the wait (logs, metrics). */
  readonly onAttemptFailed?: (failure: SendFailure, attempt: number, nextWaitMs: number | undefined) => void;
}

export type DeliveryOutcome =
  | { readonly status: 'delivered'; readonly attempts: number }
  | { readonly status: 'dropped'; readonly attempts: number; readonly reason: string }
  | { readonly status: 'stopped'; readonly attempts: number };

/**
 * The wait after `failures` consecutive failures (1-based): initial × 2^(failures−1), capped, with "equal
 * jitter" — uniformly in [half, full] of that — so many agents do not retry in lockstep.
 */
export function backoffDelay(failures: number, policy: Pick<RetryPolicy, 'initialBackoffMs' | 'maxBackoffMs'>, random: () => number): number {
  const exp = Math.min(policy.maxBackoffMs, policy.initialBackoffMs * 2 ** Math.min(Math.max(0, failures - 1), 52));
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.round(exp / 2 + (exp / 2) * r);
}

/** The wait before the next attempt after `failure`: Retry-After when the server gave one, else backoff. */
export function nextWait(failure: SendFailure, failures: number, policy: RetryPolicy, random: () => number): number {
  if (failure.retryAfterMs !== undefined) return Math.min(Math.max(0, failure.retryAfterMs), policy.maxRetryAfterMs);
  return backoffDelay(failures, policy, random);
}

/**
 * Delivers one notification through one notifier, retrying retryable failures until it is delivered, a
 * failure is final, the message is older than the give-up age, or the service stops. Never throws: a
 * notifier that throws is a retryable failure.
 */
export async function deliver(
  notifier: Notifier,
  notification: Notification,
  publishedAtMs: number,
  policy: RetryPolicy,
  deps: DeliveryDeps,
): Promise<DeliveryOutcome> {
  for (let attempt = 1; attempt <= policy.maxAttempts; attempt += 1) {
    if (deps.signal.aborted) return { status: 'stopped', attempts: attempt - 1 };
    let failure: SendFailure;
    try {
      const result = await notifier.send(notification, deps.signal);
      if (result.ok) return { status: 'delivered', attempts: attempt };
      failure = result;
    } catch (error) {
      failure = { ok: false, retryable: true, reason: `notifier ${notifier.name} threw: ${errorMessage(error)}` };
    }
    if (deps.signal.aborted || failure.aborted === true) return { status: 'stopped', attempts: attempt };
    if (!failure.retryable) {
      deps.onAttemptFailed?.(failure, attempt, undefined);
      return { status: 'dropped', attempts: attempt, reason: `not retryable: ${failure.reason}` };
    }
    const wait = nextWait(failure, attempt, policy, deps.random);
    const age = deps.now() - publishedAtMs;
    if (age + wait > policy.giveUpAfterMs) {
      deps.onAttemptFailed?.(failure, attempt, undefined);
      return { status: 'dropped', attempts: attempt, reason: `gave up after ${attempt} attempts (message older than the give-up age): ${failure.reason}` };
    }
    if (attempt === policy.maxAttempts) {
      deps.onAttemptFailed?.(failure, attempt, undefined);
      return { status: 'dropped', attempts: attempt, reason: `gave up after ${attempt} attempts: ${failure.reason}` };
    }
    deps.onAttemptFailed?.(failure, attempt, wait);
    await deps.sleep(wait, deps.signal);
  }
  return { status: 'dropped', attempts: policy.maxAttempts, reason: `gave up after ${policy.maxAttempts} attempts` };
}
