import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSlackNotifier, parseRetryAfter, redactUrl } from '../../src/notify/notifiers/slack.js';
import type { SendFailure } from '../../src/notify/notifier.js';
import { FakeSlack, reply } from '../support/fake-slack.js';
import { action, warning } from './fixtures.js';

/** Classification of real @slack/webhook outcomes against a server that answers like Slack. */
describe('Slack notifier against the fake Slack', () => {
  let slack: FakeSlack;
  beforeEach(async () => {
    slack = await FakeSlack.start();
  });
  afterEach(async () => {
    await slack.close();
  });

  const send = async (timeoutMs = 2000, url = slack.url) => {
    const notifier = createSlackNotifier({ now: () => Date.now(), webhookUrl: url, requestTimeoutMs: timeoutMs, username: 'headroom', channel: '#ops' });
    return notifier.send(action(), new AbortController().signal);
  };
  const failure = (r: Awaited<ReturnType<typeof send>>): SendFailure => {
    if (r.ok) throw new Error('expected a failure');
    return r;
  };

  it('200 ok: delivered, with Block Kit, the fallback text and the configured defaults', async () => {
    expect(await send()).toEqual({ ok: true });
    const [body] = slack.delivered() as Array<{ text: string; blocks: unknown[]; username: string; channel: string }>;
    expect(body?.text).toContain('Stopped python3 (pid 449948)');
    expect(body?.blocks.length).toBeGreaterThan(3);
    expect(body?.username).toBe('headroom');
    expect(body?.channel).toBe('#ops');
  });

  it('429 with Retry-After: retryable, and the wait Slack asked for is passed on', async () => {
    slack.script(reply.rateLimited(7));
    const f = failure(await send());
    expect(f).toMatchObject({ retryable: true, status: 429, retryAfterMs: 7000 });
    expect(f.reason).toBe('Slack answered HTTP 429 rate_limited');
  });

  it('500 and 503: retryable', async () => {
    slack.script(reply.serverError(500), reply.serverError(503));
    const first = failure(await send());
    expect(first).toMatchObject({ retryable: true, status: 500 });
    expect(first.retryAfterMs).toBeUndefined();
    expect(failure(await send())).toMatchObject({ retryable: true, status: 503, reason: 'Slack answered HTTP 503 service_unavailable' });
    expect(await send()).toEqual({ ok: true });
  });

  it('400 invalid_payload and 404 no_service: final, not retried', async () => {
    slack.script(reply.invalidPayload(), reply.noService());
    expect(failure(await send())).toMatchObject({ retryable: false, status: 400, reason: 'Slack answered HTTP 400 invalid_payload' });
    expect(failure(await send())).toMatchObject({ retryable: false, status: 404, reason: 'Slack answered HTTP 404 no_service' });
  });

  it('a wrong webhook path gets 404 no_service like Slack, and the reason does not contain the URL', async () => {
    const wrong = slack.url.replace(slack.secret, 'not-the-secret-0123');
    const f = failure(await send(2000, wrong));
    expect(f).toMatchObject({ retryable: false, status: 404 });
    expect(f.reason).not.toContain('not-the-secret-0123');
  });

  it('a hanging Slack: the request times out and is retryable', async () => {
    // Slack would answer after 30 s; the notifier's 300 ms timeout must give up first. Asserted by outcome (the
    // fake saw the client hang up before it answered), not by a stopwatch that a busy machine can break.
    slack.script(reply.hang(30_000));
    const f = failure(await send(300));
    expect(f).toMatchObject({ retryable: true, reason: 'no answer from Slack before the request timeout' });
    expect(f.status).toBeUndefined();
    for (let i = 0; i < 1500 && slack.received[0]?.status === 'pending'; i++) await new Promise((r) => setTimeout(r, 20));
    expect(slack.received.map((r) => r.status)).toEqual(['aborted']);
  });

  it('connection refused: retryable, and the reason does not contain the URL or its secret', async () => {
    const url = slack.url;
    await slack.close();
    const f = failure(await send(2000, url));
    expect(f.retryable).toBe(true);
    expect(f.reason).toMatch(/request to Slack failed/);
    expect(f.reason).not.toContain(slack.secret);
    slack = await FakeSlack.start();
  });

  it('stopping aborts an in-flight request and says so', async () => {
    slack.script(reply.hang(5000));
    const notifier = createSlackNotifier({ now: () => Date.now(), webhookUrl: slack.url, requestTimeoutMs: 10_000 });
    const controller = new AbortController();
    const pending = notifier.send(warning(), controller.signal);
    setTimeout(() => controller.abort(), 100);
    const f = failure(await pending);
    expect(f).toMatchObject({ retryable: true, aborted: true });
  });
});

describe('Retry-After and redaction helpers', () => {
  it('parses seconds and HTTP dates', () => {
    expect(parseRetryAfter('30', 0)).toBe(30_000);
    expect(parseRetryAfter('1.5', 0)).toBe(1500);
    expect(parseRetryAfter('Thu, 01 Jan 1970 00:00:10 GMT', 4000)).toBe(6000);
    expect(parseRetryAfter('soon', 0)).toBeUndefined();
    expect(parseRetryAfter(null, 0)).toBeUndefined();
  });

  it('redacts the URL and its path wherever they appear', () => {
    const url = 'https://hooks.slack.com/services/T1/B2/SECRET';
    expect(redactUrl(`failed ${url} and /services/T1/B2/SECRET`, url)).toBe('failed <slack-webhook-url> and /<redacted>');
  });
});
