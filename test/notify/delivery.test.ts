import { describe, expect, it } from 'vitest';
import { backoffDelay, deliver, DEFAULT_RETRY_POLICY, type RetryPolicy } from '../../src/notify/delivery.js';
import type { Notifier, SendFailure, SendResult, Sleep } from '../../src/notify/notifier.js';
import { resolved } from './fixtures.js';

/** A clock that only moves when the code under test sleeps. */
function fakeTime(start = 1_000_000) {
  let now = start;
  const sleeps: number[] = [];
  const sleep: Sleep = (ms) => {
    sleeps.push(ms);
    now += ms;
    return Promise.resolve();
  };
  return { now: () => now, sleep, sleeps };
}

function scripted(results: SendResult[]): Notifier & { calls: number } {
  const n = {
    name: 'scripted',
    calls: 0,
    send(): Promise<SendResult> {
      const r = results[n.calls] ?? { ok: true };
      n.calls += 1;
      return Promise.resolve(r);
    },
  };
  return n;
}

const fail = (extra: Partial<SendFailure> = {}): SendFailure => ({ ok: false, retryable: true, reason: 'HTTP 500', ...extra });
const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, initialBackoffMs: 1000, maxBackoffMs: 8000, giveUpAfterMs: 3_600_000 };

describe('backoffDelay', () => {
  it('doubles per failure, is capped, and jitters within [half, full]', () => {
    expect([1, 2, 3, 4, 5, 6].map((f) => backoffDelay(f, policy, () => 0.999999))).toEqual([1000, 2000, 4000, 8000, 8000, 8000]);
    expect([1, 2, 3, 4, 5].map((f) => backoffDelay(f, policy, () => 0))).toEqual([500, 1000, 2000, 4000, 4000]);
    expect(backoffDelay(3, policy, () => 0.5)).toBe(3000);
    expect(backoffDelay(10_000, policy, () => 0.5)).toBe(6000);
  });
});

describe('deliver', () => {
  it('retries 5xx/network failures with growing, jittered backoff until delivered', async () => {
    const t = fakeTime();
    const notifier = scripted([fail(), fail(), fail({ reason: 'timeout' }), { ok: true }]);
    const seen: Array<[number, number | undefined]> = [];
    const out = await deliver(notifier, resolved(), t.now(), policy, {
      ...t,
      random: () => 0.5,
      signal: new AbortController().signal,
      onAttemptFailed: (_f, attempt, wait) => seen.push([attempt, wait]),
    });
    expect(out).toEqual({ status: 'delivered', attempts: 4 });
    expect(t.sleeps).toEqual([750, 1500, 3000]);
    expect(seen).toEqual([
      [1, 750],
      [2, 1500],
      [3, 3000],
    ]);
  });

  it('honours Retry-After for a 429 exactly (no jitter, may exceed max backoff)', async () => {
    const t = fakeTime();
    const notifier = scripted([fail({ status: 429, retryAfterMs: 30_000 }), fail({ status: 429, retryAfterMs: 1000 }), { ok: true }]);
    const out = await deliver(notifier, resolved(), t.now(), policy, { ...t, random: () => 0, signal: new AbortController().signal });
    expect(out.status).toBe('delivered');
    expect(t.sleeps).toEqual([30_000, 1000]);
  });

  it('a 429 without Retry-After falls back to backoff; an absurd Retry-After is capped', async () => {
    const t = fakeTime();
    const notifier = scripted([fail({ status: 429 }), fail({ status: 429, retryAfterMs: 10 * 3_600_000 }), { ok: true }]);
    await deliver(notifier, resolved(), t.now(), { ...policy, giveUpAfterMs: 24 * 3_600_000 }, { ...t, random: () => 1, signal: new AbortController().signal });
    expect(t.sleeps).toEqual([1000, DEFAULT_RETRY_POLICY.maxRetryAfterMs]);
  });

  it('a non-retryable failure drops the message after one attempt', async () => {
    const t = fakeTime();
    const notifier = scripted([fail({ retryable: false, status: 400, reason: 'Slack answered HTTP 400 invalid_payload' })]);
    const out = await deliver(notifier, resolved(), t.now(), policy, { ...t, random: () => 0.5, signal: new AbortController().signal });
    expect(out).toEqual({ status: 'dropped', attempts: 1, reason: 'not retryable: Slack answered HTTP 400 invalid_payload' });
    expect(t.sleeps).toEqual([]);
  });

  it('gives up once the message would be older than the give-up age, counting from publication', async () => {
    const t = fakeTime();
    const notifier = scripted(Array.from({ length: 1000 }, () => fail()));
    const publishedAt = t.now() - 50_000; // published 50 s ago, e.g. before a restart
    const out = await deliver(notifier, resolved(), publishedAt, { ...policy, giveUpAfterMs: 60_000 }, { ...t, random: () => 1, signal: new AbortController().signal });
    expect(out.status).toBe('dropped');
    expect(t.sleeps).toEqual([1000, 2000, 4000]);
    expect(notifier.calls).toBe(4);
    expect(t.now() - publishedAt).toBeLessThanOrEqual(60_000);
  });

  it('is bounded by maxAttempts even when the clock does not move', async () => {
    const notifier = scripted(Array.from({ length: 100 }, () => fail()));
    const out = await deliver(notifier, resolved(), 0, { ...policy, maxAttempts: 5 }, {
      now: () => 0,
      sleep: () => Promise.resolve(),
      random: () => 0.5,
      signal: new AbortController().signal,
    });
    expect(out).toMatchObject({ status: 'dropped', attempts: 5 });
    expect(notifier.calls).toBe(5);
  });

  it('a notifier that throws is a retryable failure', async () => {
    const t = fakeTime();
    let calls = 0;
    const notifier: Notifier = {
      name: 'thrower',
      send: () => {
        calls += 1;
        return calls === 1 ? Promise.reject(new Error('boom')) : Promise.resolve({ ok: true });
      },
    };
    const reasons: string[] = [];
    const out = await deliver(notifier, resolved(), t.now(), policy, { ...t, random: () => 0, signal: new AbortController().signal, onAttemptFailed: (f) => reasons.push(f.reason) });
    expect(out).toEqual({ status: 'delivered', attempts: 2 });
    expect(reasons).toEqual(['notifier thrower threw: boom']);
  });

  it('stops when the signal aborts during the wait', async () => {
    const controller = new AbortController();
    const notifier = scripted(Array.from({ length: 10 }, () => fail()));
    const sleep: Sleep = (_ms, signal) => {
      controller.abort();
      expect(signal.aborted).toBe(true);
      return Promise.resolve();
    };
    const out = await deliver(notifier, resolved(), Date.now(), policy, { now: Date.now, sleep, random: () => 0, signal: controller.signal });
    expect(out).toEqual({ status: 'stopped', attempts: 1 });
    expect(notifier.calls).toBe(1);
  });
});
