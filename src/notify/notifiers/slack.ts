import { IncomingWebhook, IncomingWebhookHTTPError, IncomingWebhookRequestError, type FetchFunction } from '@slack/webhook';
import { errorMessage } from '../../logging/logger.js';
import type { Notification } from '../events.js';
import type { Notifier, SendResult } from '../notifier.js';
import { renderSlackMessage } from '../render/slack.js';

export interface SlackNotifierOptions {
  /** The incoming-webhook URL: a secret. Never logged; redacted from every reason this notifier returns. */
  readonly webhookUrl: string;
  /** One attempt is abandoned (and counted retryable) after this long. */
  readonly requestTimeoutMs: number;
  readonly channel?: string;
  readonly username?: string;
  readonly iconEmoji?: string;
  /** The agent's page: action and incident messages link to the report and its memory chart. */
  readonly reportBaseUrl?: string;
  /** The fetch used underneath @slack/webhook (tests may pass their own); defaults to the global fetch. */
  readonly fetch?: typeof fetch;
  /** Name for metrics/cursor; default "slack". */
  readonly name?: string;
  /** Wall clock, epoch ms (a Retry-After given as a date). */
  readonly now: () => number;
}

export const REDACTED_URL = '<slack-webhook-url>';

/** Replaces the webhook URL and its secret path anywhere in `text`. */
export function redactUrl(text: string, url: string): string {
  let out = text.split(url).join(REDACTED_URL);
  try {
    const path = new URL(url).pathname;
    if (path.length > 1) out = out.split(path).join('/<redacted>');
  } catch {
    // Not a URL: the whole-string replacement above is all we can do; nothing to report.
    return out;
  }
  return out;
}

/**
 * Parses a Retry-After value: delta-seconds ("30") or an HTTP date. Returns milliseconds ≥ 0, or undefined
 * when absent or unreadable.
 */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMs);
}

/** Slack answers 4xx for problems that will not go away by waiting, except these. */
function retryableStatus(status: number): boolean {
  return status === 429 || status === 408 || status >= 500;
}

/**
 * Posts Block Kit messages through @slack/webhook. The client makes one attempt (retries: 0) and treats 429
 * as final without exposing Retry-After, so the fetch underneath records the response headers and this
 * notifier classifies the outcome itself.
 */
export function createSlackNotifier(options: SlackNotifierOptions): Notifier {
  const baseFetch = options.fetch ?? fetch;
  const name = options.name ?? 'slack';
  return {
    name,
    async send(notification: Notification, signal: AbortSignal): Promise<SendResult> {
      const seen: { retryAfter?: string | null } = {};
      const recordingFetch: FetchFunction = async (url, init) => {
        const combined = init?.signal ? AbortSignal.any([init.signal, signal]) : signal;
        const response = await baseFetch(url, { ...init, signal: combined });
        seen.retryAfter = response.headers.get('retry-after');
        return response;
      };
      const hook = new IncomingWebhook(options.webhookUrl, {
        timeout: options.requestTimeoutMs,
        fetch: recordingFetch,
        retryConfig: { retries: 0 },
        ...(options.channel !== undefined ? { channel: options.channel } : {}),
        ...(options.username !== undefined ? { username: options.username } : {}),
        ...(options.iconEmoji !== undefined ? { icon_emoji: options.iconEmoji } : {}),
      });
      const message = renderSlackMessage(notification, options.reportBaseUrl !== undefined ? { reportBaseUrl: options.reportBaseUrl } : {});
      try {
        await hook.send({ text: message.text, blocks: [...message.blocks] });
        return { ok: true };
      } catch (error) {
        return classifySlackError(error, seen.retryAfter, options.webhookUrl, signal.aborted, options.now());
      }
    },
  };
}

/** Turns whatever @slack/webhook threw into a SendResult; the URL never reaches the reason. */
export function classifySlackError(error: unknown, retryAfterHeader: string | null | undefined, webhookUrl: string, aborted: boolean, nowMs: number): SendResult {
  const redact = (text: string): string => redactUrl(text, webhookUrl);
  if (error instanceof IncomingWebhookHTTPError) {
    const body = redact(String(error.body ?? '').slice(0, 200)).trim();
    const reason = `Slack answered HTTP ${error.statusCode}${body ? ` ${body}` : ''}`;
    const retryAfterMs = error.statusCode === 429 ? parseRetryAfter(retryAfterHeader, nowMs) : undefined;
    return {
      ok: false,
      retryable: retryableStatus(error.statusCode),
      reason,
      status: error.statusCode,
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    };
  }
  if (error instanceof IncomingWebhookRequestError) {
    const original = error.original;
    const cause = original.cause instanceof Error ? `: ${original.cause.message}` : '';
    const timedOut = original.name === 'TimeoutError';
    const reason = aborted
      ? 'request aborted: the notification service is stopping'
      : timedOut
        ? 'no answer from Slack before the request timeout'
        : `request to Slack failed: ${original.message}${cause}`;
    return { ok: false, retryable: true, reason: redact(reason), ...(aborted ? { aborted: true } : {}) };
  }
  const message = errorMessage(error);
  return { ok: false, retryable: true, reason: redact(`unexpected error posting to Slack: ${message}`), ...(aborted ? { aborted: true } : {}) };
}
