import { readFileSync } from 'node:fs';
import { Counter, Gauge, Registry } from 'prom-client';
import { ConfigError } from '../config/load.js';
import type { NotifyConfig, SlackConfig } from '../config/sections/notify.js';
import { errorMessage, type Logger } from '../logging/logger.js';
import { DEFAULT_RETRY_POLICY, deliver, type RetryPolicy } from './delivery.js';
import { NOTIFICATION_KINDS, type Notification, type NotificationSink } from './events.js';
import type { Notifier, SendResult, Sleep } from './notifier.js';
import { createLogNotifier } from './notifiers/log.js';
import { createSlackNotifier, redactUrl } from './notifiers/slack.js';
import { buildEmailNotifier } from './email-setup.js';
import { Outbox } from './outbox.js';

export interface NotificationServiceOptions {
  /** The parsed `notify` config section. */
  readonly config: NotifyConfig;
  readonly logger: Logger;
  /** Where webhook_url_env is looked up (the entry point passes process.env). */
  readonly env?: NodeJS.ProcessEnv;
  /** Overrides config.state_dir. */
  readonly stateDir?: string;
  /** Wall clock, epoch ms (give-up age, Retry-After dates). */
  readonly now: () => number;
  /** Backoff waits and drain() (the composition root passes the real timers). */
  readonly sleep: Sleep;
  /** Uniform [0, 1) for backoff jitter. Default Math.random. */
  readonly random?: () => number;
  /** Reads webhook_url_file. Default fs.readFileSync(path, 'utf8'). */
  readonly readFile?: (path: string) => string;
  /** The fetch underneath @slack/webhook. Default the global fetch. */
  readonly fetch?: typeof fetch;
  /** Replaces the notifiers built from config (tests of delivery mechanics). */
  readonly notifiers?: readonly Notifier[];
}

export interface NotificationService {
  /** publish() stores durably before returning; delivery happens in the background once started. */
  readonly sink: NotificationSink;
  /** headroom_notifications_* and headroom_notification_* metrics. */
  readonly registry: Registry;
  /** Names of the active notifiers, e.g. ["log", "slack"]. */
  readonly notifiers: readonly string[];
  /** Starts one in-order delivery worker per notifier. */
  start(): void;
  /** Stops the workers (aborting waits and in-flight requests) and resolves when they have stopped. */
  stop(): Promise<void>;
  /** Messages not yet finished by every notifier. */
  queueDepth(): number;
  /** Waits until the queue is empty (true) or `timeoutMs` passed (false). Bounded. */
  drain(timeoutMs: number): Promise<boolean>;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * Reads the Slack webhook URL from its file or environment variable. Errors name the key and the fix and
 * never contain the URL.
 */
export function resolveWebhookUrl(slack: SlackConfig, env: NodeJS.ProcessEnv, readFile: (path: string) => string): string {
  let value: string;
  let key: string;
  if (slack.webhook_url_file !== undefined) {
    key = 'notify.slack.webhook_url_file';
    try {
      value = readFile(slack.webhook_url_file).trim();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? errorMessage(error);
      throw new ConfigError('notify', [`${key}: cannot read "${slack.webhook_url_file}" (${code}); give a readable file whose only content is the webhook URL`]);
    }
  } else if (slack.webhook_url_env !== undefined) {
    key = 'notify.slack.webhook_url_env';
    value = (env[slack.webhook_url_env] ?? '').trim();
    if (value === '') throw new ConfigError('notify', [`${key}: the environment variable ${slack.webhook_url_env} is not set or empty; set it to the webhook URL`]);
  } else {
    throw new ConfigError('notify', ['notify.slack: give webhook_url_file or webhook_url_env']);
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError('notify', [`${key}: the value is not a URL (not shown: it may be a secret); it must be a Slack incoming-webhook URL such as https://hooks.slack.com/services/…`]);
  }
  const loopback = LOOPBACK_HOSTS.has(url.hostname);
  if (!(url.protocol === 'https:' || (url.protocol === 'http:' && loopback))) {
    throw new ConfigError('notify', [`${key}: the URL must use https (plain http is accepted only for 127.0.0.1/localhost); the value is not shown because it is a secret`]);
  }
  return value;
}

/** A logger that replaces the given secrets (and the webhook URL's path) in every message and field. */
export function redactingLogger(logger: Logger, secrets: readonly string[]): Logger {
  if (secrets.length === 0) return logger;
  const clean = (text: string): string => secrets.reduce((t, s) => redactUrl(t, s), text);
  const fields = (f: Record<string, unknown> | undefined): Record<string, unknown> | undefined =>
    f === undefined ? undefined : (JSON.parse(clean(JSON.stringify(f))) as Record<string, unknown>);
  return {
    info: (msg, f) => logger.info(clean(msg), fields(f)),
    warn: (msg, f) => logger.warn(clean(msg), fields(f)),
    error: (msg, f) => logger.error(clean(msg), fields(f)),
  };
}


/** Wakes every waiting worker (a publish, an ack, a stop). Per service, never module-level. */
class Wakeup {
  private waiters: Array<() => void> = [];

  wait(signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      if (signal.aborted) {
        resolve();
        return;
      }
      const done = (): void => {
        signal.removeEventListener('abort', done);
        this.waiters = this.waiters.filter((w) => w !== done);
        resolve();
      };
      this.waiters.push(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  notifyAll(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

/**
 * Builds the notification service: the log notifier always, Slack when configured, a durable outbox in
 * state_dir, one in-order delivery worker per notifier, and their metrics. Synchronous (reads the webhook URL
 * and the outbox); throws ConfigError for a bad URL source or an unusable state directory.
 */
export function createNotificationService(options: NotificationServiceOptions): NotificationService {
  const { config } = options;
  const { now, sleep } = options;
  const random = options.random ?? Math.random;
  const stateDir = options.stateDir ?? config.state_dir;

  // Slack links reports and charts at the agent's page (its own base URL, else the e-mail's).
  const slackReportBase = config.slack?.report_base_url ?? config.email?.report_base_url;
  const webhookUrl = config.slack ? resolveWebhookUrl(config.slack, options.env ?? {}, options.readFile ?? ((p) => readFileSync(p, 'utf8'))) : undefined;
  // --- e-mail notifier (issue #13): built from notify.email; its password joins the redacted secrets ---
  const email = config.email && !options.notifiers ? buildEmailNotifier(config.email, options.readFile ?? ((p) => readFileSync(p, 'utf8'))) : undefined;
  const logger = redactingLogger(options.logger, [...(webhookUrl !== undefined ? [webhookUrl] : []), ...(email?.secrets ?? [])]);

  const notifiers: Notifier[] = options.notifiers
    ? [...options.notifiers]
    : [
        createLogNotifier(logger),
        ...(config.slack && webhookUrl !== undefined
          ? [
              createSlackNotifier({
                webhookUrl,
                requestTimeoutMs: config.slack.request_timeout,
                ...(config.slack.channel !== undefined ? { channel: config.slack.channel } : {}),
                ...(config.slack.username !== undefined ? { username: config.slack.username } : {}),
                ...(config.slack.icon_emoji !== undefined ? { iconEmoji: config.slack.icon_emoji } : {}),
                ...(slackReportBase !== undefined ? { reportBaseUrl: slackReportBase } : {}),
                ...(options.fetch ? { fetch: options.fetch } : {}),
                now,
              }),
            ]
          : []),
        ...(email ? [email.notifier] : []),
      ];
  const names = notifiers.map((n) => n.name);
  if (new Set(names).size !== names.length) throw new Error(`notifier names must be unique: ${names.join(', ')}`);

  const policy: RetryPolicy = {
    ...DEFAULT_RETRY_POLICY,
    initialBackoffMs: config.retry.initial_backoff,
    maxBackoffMs: config.retry.max_backoff,
    giveUpAfterMs: config.retry.give_up_after,
  };

  const registry = new Registry();
  const labelNames = ['notifier'] as const;
  const sent = new Counter({ name: 'headroom_notifications_sent_total', help: 'Notifications delivered, by notifier.', labelNames, registers: [registry] });
  const failed = new Counter({
    name: 'headroom_notifications_failed_total',
    help: 'Notifications that could not be delivered and were dropped (final error or give-up age), by notifier.',
    labelNames,
    registers: [registry],
  });
  const requests = new Counter({ name: 'headroom_notification_requests_total', help: 'Delivery attempts, by notifier.', labelNames, registers: [registry] });
  const requestsFailed = new Counter({
    name: 'headroom_notification_requests_failed_total',
    help: 'Failed delivery attempts (each retry counts), by notifier.',
    labelNames,
    registers: [registry],
  });
  const writeErrors = new Counter({
    name: 'headroom_notification_outbox_write_errors_total',
    help: 'Failed writes to the outbox directory (the message is then kept in memory only).',
    labelNames: ['what'] as const,
    registers: [registry],
  });
  for (const name of names) {
    for (const c of [sent, failed, requests, requestsFailed]) c.inc({ notifier: name }, 0);
  }

  let outbox: Outbox;
  try {
    outbox = Outbox.open({ dir: stateDir, consumers: names, now, logger, onWriteError: (what) => writeErrors.inc({ what }) });
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? errorMessage(error);
    throw new ConfigError('notify', [`notify.state_dir: cannot use "${stateDir}" for the outbox (${reason}); give a directory headroom can create and write`]);
  }
  const queueDepth = new Gauge({
    name: 'headroom_notification_queue_depth',
    help: 'Notifications stored in the outbox and not yet delivered (or dropped) by every notifier.',
    registers: [registry],
    collect() {
      this.set(outbox.depth());
    },
  });
  queueDepth.set(outbox.depth());

  const wake = new Wakeup();

  const instrumented = (notifier: Notifier): Notifier => ({
    name: notifier.name,
    async send(n: Notification, signal: AbortSignal): Promise<SendResult> {
      requests.inc({ notifier: notifier.name });
      try {
        const result = await notifier.send(n, signal);
        if (!result.ok && result.aborted !== true) requestsFailed.inc({ notifier: notifier.name });
        return result;
      } catch (error) {
        requestsFailed.inc({ notifier: notifier.name });
        throw error;
      }
    },
  });

  const runWorker = async (notifier: Notifier, signal: AbortSignal): Promise<void> => {
    const measured = instrumented(notifier);
    while (!signal.aborted) {
      const record = outbox.next(notifier.name);
      if (record === undefined) {
        await wake.wait(signal);
        continue;
      }
      const outcome = await deliver(measured, record.notification, record.publishedAtMs, policy, {
        now,
        sleep,
        random,
        signal,
        onAttemptFailed: (failure, attempt, nextWaitMs) =>
          logger.warn('notification delivery failed', {
            notifier: notifier.name,
            notification_id: record.id,
            seq: record.seq,
            attempt,
            retryable: failure.retryable,
            ...(failure.status !== undefined ? { status: failure.status } : {}),
            reason: failure.reason,
            ...(nextWaitMs !== undefined ? { retry_in_ms: nextWaitMs } : {}),
          }),
      });
      if (outcome.status === 'stopped') return;
      if (outcome.status === 'delivered') {
        sent.inc({ notifier: notifier.name });
        if (outcome.attempts > 1) logger.info('notification delivered after retries', { notifier: notifier.name, notification_id: record.id, attempts: outcome.attempts });
      } else {
        failed.inc({ notifier: notifier.name });
        logger.error('notification dropped', { notifier: notifier.name, notification_id: record.id, seq: record.seq, kind: record.notification.kind, reason: outcome.reason });
      }
      outbox.ack(notifier.name, record.seq);
      wake.notifyAll();
    }
  };

  let running: { controller: AbortController; workers: Promise<void>[] } | undefined;

  const sink: NotificationSink = {
    publish(notification: Notification): void {
      const n = notification as Partial<Notification> | null;
      if (n === null || typeof n !== 'object' || typeof n.id !== 'string' || n.id === '' || typeof n.kind !== 'string' || !NOTIFICATION_KINDS.has(n.kind)) {
        throw new TypeError('publish: not a Notification (needs a non-empty id and kind warning | action | refusal | resolved)');
      }
      outbox.append(notification);
      wake.notifyAll();
    },
  };

  return {
    sink,
    registry,
    notifiers: names,
    start(): void {
      if (running) throw new Error('notification service already started');
      const controller = new AbortController();
      const workers = notifiers.map((notifier) =>
        runWorker(notifier, controller.signal).catch((error: unknown) => {
          logger.error('notification worker failed; messages stay in the outbox', { notifier: notifier.name, error: errorMessage(error) });
        }),
      );
      running = { controller, workers };
      logger.info('notifications started', { notifiers: names, state_dir: stateDir, queued: outbox.depth() });
    },
    async stop(): Promise<void> {
      if (!running) return;
      const { controller, workers } = running;
      running = undefined;
      controller.abort();
      await Promise.all(workers);
      wake.notifyAll();
    },
    queueDepth: () => outbox.depth(),
    async drain(timeoutMs: number): Promise<boolean> {
      const deadline = now() + timeoutMs;
      while (outbox.depth() > 0) {
        const left = deadline - now();
        if (left <= 0) return false;
        const controller = new AbortController();
        // Whichever ends first ends the other: a wake-up (progress) or the time left.
        await Promise.race([wake.wait(controller.signal), sleep(left, controller.signal)]);
        controller.abort();
      }
      return true;
    },
  };
}
