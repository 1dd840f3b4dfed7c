import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { memoryLogger } from '../../src/logging/logger.js';
import { notifySection } from '../../src/config/sections/notify.js';
import type { Notification } from '../../src/notify/events.js';
import { sleep } from '../../src/agent/system.js';
import { createNotificationService, type NotificationService } from '../../src/notify/service.js';

/** The real timers, as the agent wires them. */
const timers = { now: () => Date.now(), sleep };
import { FakeSlack, reply } from '../support/fake-slack.js';
import { action, numbered, refusal, warning } from './fixtures.js';

/** End to end: publish → durable outbox → real @slack/webhook → the fake Slack, with real time, bounded. */
describe('notification service against the fake Slack', () => {
  let slack: FakeSlack;
  let dir: string;
  const services: NotificationService[] = [];
  let logger: ReturnType<typeof memoryLogger>;

  beforeEach(async () => {
    slack = await FakeSlack.start();
    dir = mkdtempSync(join(tmpdir(), 'headroom-notify-'));
    logger = memoryLogger();
  });
  afterEach(async () => {
    for (const s of services.splice(0)) await s.stop();
    await slack.close();
    rmSync(dir, { recursive: true, force: true });
    // Whatever happened in the test, the webhook secret never reached a log line.
    expect(JSON.stringify(logger.lines)).not.toContain(slack.secret);
  });

  const make = (overrides: Record<string, unknown> = {}): NotificationService => {
    const config = notifySection.parse({
      state_dir: dir,
      slack: { webhook_url_env: 'TEST_SLACK_URL', request_timeout: '300ms', username: 'headroom' },
      retry: { initial_backoff: '20ms', max_backoff: '100ms', give_up_after: '1h' },
      ...overrides,
    });
    const service = createNotificationService({ ...timers, config, logger, env: { TEST_SLACK_URL: slack.url } });
    services.push(service);
    return service;
  };
  const ids = (bodies: unknown[]): string[] =>
    bodies.map((b) => {
      const m = /id `([^`]+)`/.exec(JSON.stringify(b));
      return m?.[1] ?? '?';
    });
  const metric = async (service: NotificationService, name: string, notifier?: string): Promise<number> => {
    const text = await service.registry.metrics();
    const line = text.split('\n').find((l) => l.startsWith(notifier === undefined ? `${name} ` : `${name}{notifier="${notifier}"} `));
    if (line === undefined) throw new Error(`metric ${name} ${notifier ?? ''} not found in\n${text}`);
    return Number(line.split(' ').pop());
  };

  it('delivers every kind to Slack and the log, in order', async () => {
    const s = make();
    const all: Notification[] = [warning(), action(), refusal(), ...numbered(2)];
    for (const n of all) s.sink.publish(n);
    s.start();
    const bodies = await slack.waitForDelivered(5, 30_000);
    expect(ids(bodies)).toEqual(all.map((n) => n.id));
    expect(await s.drain(2000)).toBe(true);
    expect(logger.lines.filter((l) => l.msg === 'notification').map((l) => l.notification_id)).toEqual(all.map((n) => n.id));
    expect(await metric(s, 'headroom_notifications_sent_total', 'slack')).toBe(5);
    expect(await metric(s, 'headroom_notifications_sent_total', 'log')).toBe(5);
    expect(await metric(s, 'headroom_notification_queue_depth')).toBe(0);
    expect(readdirSync(dir).filter((f) => f.startsWith('msg-'))).toEqual([]);
  });

  it('429 with Retry-After: 1 — waits as asked, then every message arrives in order', async () => {
    slack.script(reply.rateLimited(1));
    const s = make();
    s.start();
    for (const n of numbered(3)) s.sink.publish(n);
    const bodies = await slack.waitForDelivered(3, 30_000);
    expect(ids(bodies)).toEqual(['msg-1', 'msg-2', 'msg-3']);
    const [limited, retried] = slack.received;
    expect(limited?.status).toBe(429);
    expect(retried?.status).toBe(200);
    expect((retried?.at ?? 0) - (limited?.at ?? 0)).toBeGreaterThanOrEqual(950);
    expect(slack.received).toHaveLength(4);
    const failure = logger.lines.find((l) => l.msg === 'notification delivery failed');
    expect(failure).toMatchObject({ notifier: 'slack', status: 429, retry_in_ms: 1000, notification_id: 'msg-1' });
  });

  it('500 / 503 / 500: retried with backoff, every message arrives once, in order; failures are counted', async () => {
    slack.script(reply.serverError(500), reply.serverError(503), reply.serverError(500));
    const s = make();
    s.start();
    for (const n of numbered(4)) s.sink.publish(n);
    const bodies = await slack.waitForDelivered(4, 30_000);
    expect(ids(bodies)).toEqual(['msg-1', 'msg-2', 'msg-3', 'msg-4']);
    expect(slack.received.map((r) => r.status)).toEqual([500, 503, 500, 200, 200, 200, 200]);
    expect(await s.drain(2000)).toBe(true);
    expect(await metric(s, 'headroom_notification_requests_failed_total', 'slack')).toBe(3);
    expect(await metric(s, 'headroom_notification_requests_total', 'slack')).toBe(7);
    expect(await metric(s, 'headroom_notifications_failed_total', 'slack')).toBe(0);
  });

  it('a hanging Slack: the attempt times out, is retried, and nothing is lost or reordered', async () => {
    slack.script(reply.hang(2000, reply.serverError(503)), reply.hang(2000));
    const s = make();
    s.start();
    for (const n of numbered(3)) s.sink.publish(n);
    const bodies = await slack.waitForDelivered(3, 30_000);
    expect(ids(bodies)).toEqual(['msg-1', 'msg-2', 'msg-3']);
    expect(slack.received.slice(0, 2).map((r) => r.status)).toEqual(['aborted', 'aborted']);
    expect(logger.lines.filter((l) => l.msg === 'notification delivery failed').map((l) => l.reason)).toEqual([
      'no answer from Slack before the request timeout',
      'no answer from Slack before the request timeout',
    ]);
  });

  it('a final error (400) drops that message, counts it, and does not block the next', async () => {
    slack.script(reply.invalidPayload());
    const s = make();
    s.start();
    for (const n of numbered(2)) s.sink.publish(n);
    const bodies = await slack.waitForDelivered(1, 30_000);
    expect(ids(bodies)).toEqual(['msg-2']);
    expect(await s.drain(2000)).toBe(true);
    expect(await metric(s, 'headroom_notifications_failed_total', 'slack')).toBe(1);
    expect(logger.lines.find((l) => l.msg === 'notification dropped')).toMatchObject({
      notifier: 'slack',
      notification_id: 'msg-1',
      reason: 'not retryable: Slack answered HTTP 400 invalid_payload',
    });
  });

  it('durable across a restart during an outage: nothing delivered is re-sent, nothing undelivered is lost, order kept', async () => {
    const first = make();
    first.start();
    for (const n of numbered(2)) first.sink.publish(n);
    await slack.waitForDelivered(2, 30_000);
    expect(await first.drain(2000)).toBe(true);

    slack.setDefault(reply.serverError(503));
    for (const n of numbered(3, 'outage')) first.sink.publish(n);
    // Let Slack refuse a few attempts, then stop the service mid-outage (as a restart would).
    const deadline = Date.now() + 30_000;
    while (slack.received.filter((r) => r.status === 503).length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(await metric(first, 'headroom_notification_queue_depth')).toBe(3);
    await first.stop();
    expect(readdirSync(dir).filter((f) => f.startsWith('msg-'))).toHaveLength(3);

    slack.setDefault(reply.ok());
    const second = make();
    second.sink.publish(numbered(1, 'after-restart')[0] ?? action());
    second.start();
    const bodies = await slack.waitForDelivered(6, 30_000);
    expect(ids(bodies)).toEqual(['msg-1', 'msg-2', 'outage-1', 'outage-2', 'outage-3', 'after-restart-1']);
    expect(await second.drain(2000)).toBe(true);
    expect(slack.delivered()).toHaveLength(6);
    // The log notifier had already written the outage messages before the restart: not repeated.
    expect(logger.lines.filter((l) => l.msg === 'notification').map((l) => l.notification_id)).toEqual([
      'msg-1',
      'msg-2',
      'outage-1',
      'outage-2',
      'outage-3',
      'after-restart-1',
    ]);
  });

  it('publish stores durably even before start, and rejects what is not a notification', () => {
    const s = make();
    s.sink.publish(action());
    expect(readdirSync(dir)).toContain('msg-0000000000000001.json');
    expect(s.queueDepth()).toBe(1);
    expect(() => s.sink.publish({ kind: 'nope', id: 'x' } as unknown as Notification)).toThrow(/not a Notification/);
  });

  it('without Slack configured, the log notifier alone delivers', async () => {
    const config = notifySection.parse({ state_dir: dir });
    const s = createNotificationService({ ...timers, config, logger });
    services.push(s);
    expect(s.notifiers).toEqual(['log']);
    s.start();
    s.sink.publish(refusal());
    expect(await s.drain(2000)).toBe(true);
    expect(logger.lines.find((l) => l.msg === 'notification')).toMatchObject({ kind: 'refusal', notification_id: 'n-refusal-1' });
    expect(slack.received).toHaveLength(0);
  });

  it('the webhook URL never reaches the log, whatever Slack answers', async () => {
    slack.script(reply.rateLimited(0), reply.serverError(500), reply.hang(1000), reply.noService());
    const s = make();
    s.start();
    for (const n of numbered(2)) s.sink.publish(n);
    await slack.waitForDelivered(1, 30_000);
    expect(await s.drain(3000)).toBe(true);
    expect(logger.lines.filter((l) => l.msg === 'notification delivery failed')).toHaveLength(4);
    // Also a logger call that carries the URL by accident is redacted by the service's logger.
    const text = JSON.stringify(logger.lines);
    expect(text).not.toContain(slack.secret);
    expect(text).toContain('no_service');
  });

  it('connection refused while Slack is down, then it comes back at the same URL: every message arrives, in order', async () => {
    const { port, secret } = slack;
    const s = make();
    await slack.close();
    s.start();
    for (const n of numbered(3)) s.sink.publish(n);
    const deadline = Date.now() + 30_000;
    while (logger.lines.filter((l) => l.msg === 'notification delivery failed').length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const failures = logger.lines.filter((l) => l.msg === 'notification delivery failed');
    expect(failures.length).toBeGreaterThanOrEqual(2);
    expect(failures[0]).toMatchObject({ retryable: true, notification_id: 'msg-1' });
    expect(String(failures[0]?.reason)).toMatch(/request to Slack failed/);
    slack = await FakeSlack.start({ port, secret });
    const bodies = await slack.waitForDelivered(3, 30_000);
    expect(ids(bodies)).toEqual(['msg-1', 'msg-2', 'msg-3']);
  });
});

describe('notify config and the webhook URL source', () => {
  const SECRET_URL = 'https://hooks.slack.com/services/T0SECRET/B0SECRET/XXXXSECRETXXXX';
  const errorOf = (fn: () => unknown): string => {
    try {
      fn();
    } catch (error) {
      return error instanceof Error ? error.message : String(error);
    }
    throw new Error('expected an error');
  };

  it('rejects an inline webhook URL with a clear error that does not print it', async () => {
    const { parseConfig } = await import('../../src/config/load.js');
    const message = errorOf(() => parseConfig({ notify: { slack: { webhook_url: SECRET_URL } } }, 'headroom.yaml'));
    expect(message).toContain('notify.slack.webhook_url_file');
    expect(message).toContain('must not be written in the config file');
    expect(message).not.toContain('SECRET');
  });

  it('rejects a URL pasted into webhook_url_env or webhook_url_file without printing it', async () => {
    const { parseConfig } = await import('../../src/config/load.js');
    for (const slack of [{ webhook_url_env: SECRET_URL }, { webhook_url_file: SECRET_URL }]) {
      const message = errorOf(() => parseConfig({ notify: { slack } }, 'headroom.yaml'));
      expect(message).toMatch(/holds what looks like a URL/);
      expect(message).not.toContain('SECRET');
    }
  });

  it('needs exactly one of webhook_url_file / webhook_url_env and a valid variable name', async () => {
    const { parseConfig } = await import('../../src/config/load.js');
    expect(errorOf(() => parseConfig({ notify: { slack: {} } }, 'c.yaml'))).toMatch(/notify\.slack\.webhook_url_file: is required \(or webhook_url_env\)/);
    expect(errorOf(() => parseConfig({ notify: { slack: { webhook_url_file: '/a', webhook_url_env: 'B' } } }, 'c.yaml'))).toMatch(/not both/);
    expect(errorOf(() => parseConfig({ notify: { slack: { webhook_url_env: 'has space' } } }, 'c.yaml'))).toMatch(/environment variable name/);
    expect(errorOf(() => parseConfig({ notify: { retry: { max_backoff: 'soon' } } }, 'c.yaml'))).toMatch(/notify\.retry\.max_backoff: got "soon"; must be a duration/);
  });

  it('parses defaults and durations; the section is optional', async () => {
    const { parseConfig } = await import('../../src/config/load.js');
    expect(parseConfig({}, 'c.yaml').notify).toBeUndefined();
    const config = parseConfig({ notify: { slack: { webhook_url_env: 'HEADROOM_SLACK_WEBHOOK_URL' } } }, 'c.yaml').notify;
    expect(config).toEqual({
      state_dir: '/var/lib/headroom/notify',
      slack: { webhook_url_env: 'HEADROOM_SLACK_WEBHOOK_URL', request_timeout: 10_000 },
      retry: { initial_backoff: 1000, max_backoff: 300_000, give_up_after: 86_400_000 },
    });
  });

  it('reads the URL from a file or the environment; errors name the key and never the URL', () => {
    const dir = mkdtempSync(join(tmpdir(), 'headroom-url-'));
    try {
      const file = join(dir, 'url');
      writeFileSync(file, `${SECRET_URL}\n`);
      const fromFile = notifySection.parse({ state_dir: dir, slack: { webhook_url_file: file } });
      expect(createNotificationService({ ...timers, config: fromFile, logger: memoryLogger() }).notifiers).toEqual(['log', 'slack']);

      const missing = notifySection.parse({ state_dir: dir, slack: { webhook_url_file: join(dir, 'absent') } });
      expect(errorOf(() => createNotificationService({ ...timers, config: missing, logger: memoryLogger() }))).toMatch(/notify\.slack\.webhook_url_file: cannot read ".*absent" \(ENOENT\)/);

      const fromEnv = notifySection.parse({ state_dir: dir, slack: { webhook_url_env: 'HOOK' } });
      expect(errorOf(() => createNotificationService({ ...timers, config: fromEnv, logger: memoryLogger(), env: {} }))).toMatch(/HOOK is not set or empty/);
      const plainHttp = errorOf(() => createNotificationService({ ...timers, config: fromEnv, logger: memoryLogger(), env: { HOOK: SECRET_URL.replace('https', 'http') } }));
      expect(plainHttp).toMatch(/must use https/);
      expect(plainHttp).not.toContain('SECRET');
      const notUrl = errorOf(() => createNotificationService({ ...timers, config: fromEnv, logger: memoryLogger(), env: { HOOK: 'XXXXSECRETXXXX' } }));
      expect(notUrl).toMatch(/not a URL/);
      expect(notUrl).not.toContain('SECRET');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
