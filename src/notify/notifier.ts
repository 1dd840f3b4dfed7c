import type { Notification } from './events.js';

/**
 * One way of telling people (Slack, the log). After Alertmanager's notify.Notifier: a notifier renders the
 * notification its own way and makes one attempt; it never retries and never throws for a delivery problem —
 * it says whether the failure is worth retrying. Retries, backoff and give-up live in delivery.ts only.
 */
export interface Notifier {
  /** Stable name: the `notifier` metric label and the outbox cursor name ([a-z0-9_-]). */
  readonly name: string;
  /** One attempt. `signal` aborts an in-flight attempt when the service stops. */
  send(notification: Notification, signal: AbortSignal): Promise<SendResult>;
}

export type SendResult = SendOk | SendFailure;

export interface SendOk {
  readonly ok: true;
}

export interface SendFailure {
  readonly ok: false;
  /** true: the same message may succeed later (429, 5xx, network error, timeout). false: it never will (4xx). */
  readonly retryable: boolean;
  /** For people and logs; never contains a secret (the Slack notifier redacts its webhook URL). */
  readonly reason: string;
  /** The server asked to wait this long (429 Retry-After). */
  readonly retryAfterMs?: number;
  /** HTTP status when there was a response. */
  readonly status?: number;
  /** The attempt was cut short because the service is stopping (not a delivery problem). */
  readonly aborted?: boolean;
}

/** Resolves after `ms` or as soon as `signal` aborts, whichever comes first; never rejects. */
export type Sleep = (ms: number, signal: AbortSignal) => Promise<void>;
