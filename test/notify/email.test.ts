import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/load.js';
import { notifySection } from '../../src/config/sections/notify.js';
import { createLogger } from '../../src/logging/logger.js';
import { renderEmail } from '../../src/notify/render/email.js';
import { createNotificationService, type NotificationService } from '../../src/notify/service.js';
import { selfSignedCert, TestSmtp } from '../support/smtp.js';
import { action, proc, refusal, resolved, warning } from './fixtures.js';

const USER = 'headroom-mailer';
const PASSWORD = 'pa55-Wörd-not-in-logs-7f3c';
const PAYLOAD = '<script>alert("x")</script><img src=x onerror=alert(1)>';

/** End to end against a real SMTP server on 127.0.0.1: STARTTLS, AUTH, parsed messages, retries, failures. */
describe('e-mail notifier against a real SMTP server (smtp-server, STARTTLS + AUTH)', () => {
  let cert: ReturnType<typeof selfSignedCert>;
  let smtp: TestSmtp;
  let dir: string;
  let logText: string[];
  const services: NotificationService[] = [];

  beforeAll(() => {
    cert = selfSignedCert();
  });
  afterAll(() => cert.cleanup());
  beforeEach(async () => {
    smtp = await TestSmtp.start({ key: cert.key, cert: cert.cert, user: USER, password: PASSWORD });
    dir = mkdtempSync(join(tmpdir(), `headroom-people-email-${process.pid}-`));
    writeFileSync(join(dir, 'smtp-password'), `${PASSWORD}\n`, { mode: 0o600 });
    logText = [];
  });
  afterEach(async () => {
    for (const s of services.splice(0)) await s.stop();
    await smtp.close();
    rmSync(dir, { recursive: true, force: true });
    // Whatever happened, the password never reached the log (the real JSON logger's output).
    expect(logText.join('')).not.toContain(PASSWORD);
    expect(logText.join('')).not.toContain('pa55');
  });

  const make = (email: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): NotificationService => {
    const config = notifySection.parse({
      state_dir: join(dir, 'outbox'),
      email: {
        host: '127.0.0.1',
        port: smtp.port,
        ca_file: cert.certFile,
        from: 'headroom@ml-box-1.example',
        to: ['oncall@example.com', 'ds@example.com'],
        username: USER,
        password_file: join(dir, 'smtp-password'),
        report_base_url: 'https://ml-box-1:9632',
        request_timeout: '5s',
        ...email,
      },
      retry: { initial_backoff: '20ms', max_backoff: '100ms', give_up_after: '1h' },
      ...extra,
    });
    const logger = createLogger({ write: (line: string) => logText.push(line) }, () => new Date('2025-12-12T03:13:00Z'));
    const service = createNotificationService({ now: () => Date.now(), sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)), config, logger });
    services.push(service);
    return service;
  };
  const metric = async (service: NotificationService, name: string, notifier: string): Promise<number> => {
    const text = await service.registry.metrics();
    const line = text.split('\n').find((l) => l.startsWith(`${name}{notifier="${notifier}"} `));
    if (line === undefined) throw new Error(`metric ${name} ${notifier} not found in\n${text}`);
    return Number(line.split(' ').pop());
  };

  it('delivers every kind over STARTTLS with AUTH: text and HTML bodies, the report attached and linked', async () => {
    const report = join(dir, 'inc-20251212-0313.md');
    writeFileSync(report, '# Incident inc-20251212-0313\n\nStopped python3 (pid 449948).\n');
    const s = make();
    expect(s.notifiers).toEqual(['log', 'email']);
    s.sink.publish(warning());
    s.sink.publish(action({ incidentReportPath: report, target: { process: proc(449948, { cmdline: `python3 ${PAYLOAD}` }) } }));
    s.sink.publish(refusal());
    s.sink.publish(resolved());
    s.start();
    await smtp.until(() => smtp.delivered.length === 4, 20_000, 'four messages');
    expect(await s.drain(10_000)).toBe(true);
    const [w, a, r, done] = smtp.delivered;
    for (const d of smtp.delivered) {
      expect(d.secure).toBe(true);
      expect(d.user).toBe(USER);
      expect(d.rcptTo).toEqual(['oncall@example.com', 'ds@example.com']);
      expect(d.mail.from?.text).toBe('headroom@ml-box-1.example');
    }
    expect(w?.mail.subject).toMatch(/^\[headroom\] Warning on ml-box-1: /);
    expect(w?.mail.headers.get('x-headroom-kind')).toBe('warning');
    expect(a?.mail.subject).toBe('[headroom] Action on ml-box-1: Stopped python3 (pid 449948)');
    expect(a?.mail.headers.get('x-headroom-notification-id')).toBe('n-action-1');
    expect(a?.mail.text).toContain('Freed:');
    expect(a?.mail.text).toContain('60.0 GiB');
    expect(a?.mail.text).toContain('https://ml-box-1:9632/incidents/inc-20251212-0313');
    expect(a?.mail.text).toContain(PAYLOAD); // plain text carries it as it is
    const htmlBody = String(a?.mail.html);
    expect(htmlBody).not.toContain('<script>');
    expect(htmlBody).not.toContain('<img src=x');
    expect(htmlBody).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(htmlBody).toContain('<a href="https://ml-box-1:9632/incidents/inc-20251212-0313">');
    expect(a?.mail.attachments).toHaveLength(1);
    expect(a?.mail.attachments[0]?.filename).toBe('inc-20251212-0313.md');
    expect(a?.mail.attachments[0]?.content.toString('utf8')).toContain('Stopped python3 (pid 449948).');
    expect(r?.mail.subject).toMatch(/^\[headroom\] Nothing stopped on ml-box-1: .*\(protected\)$/);
    expect(done?.mail.subject).toMatch(/^\[headroom\] Resolved on ml-box-1: /);
    expect(done?.mail.headers.get('x-headroom-kind')).toBe('resolved');
    expect(await metric(s, 'headroom_notifications_sent_total', 'email')).toBe(4);
  });

  it('retries a 4xx answer until it succeeds', async () => {
    smtp.answer({ code: 451, message: 'Try again later' }, { code: 452, message: 'Insufficient storage' });
    const s = make();
    s.sink.publish(action({ incidentReportPath: undefined }));
    s.start();
    await smtp.until(() => smtp.delivered.length === 1, 20_000, 'the retried message');
    expect(await s.drain(10_000)).toBe(true);
    expect(smtp.attempts.map((a) => a.reply)).toEqual(['451', '452', '250']);
    expect(await metric(s, 'headroom_notifications_sent_total', 'email')).toBe(1);
    expect(await metric(s, 'headroom_notification_requests_failed_total', 'email')).toBe(2);
    expect(await metric(s, 'headroom_notifications_failed_total', 'email')).toBe(0);
    const lines = logText.map((l) => JSON.parse(l) as Record<string, unknown>);
    const failures = lines.filter((l) => l.msg === 'notification delivery failed' && l.notifier === 'email');
    expect(failures.map((l) => [l.status, l.retryable])).toEqual([[451, true], [452, true]]);
    expect(lines.some((l) => l.msg === 'notification delivered after retries' && l.attempts === 3)).toBe(true);
  });

  it('records a 5xx answer as failed (metric, log, outbox cursor) and goes on with the next message', async () => {
    smtp.answer({ code: 550, message: 'Mailbox unavailable' });
    const s = make();
    s.sink.publish(action({ id: 'n-rejected', incidentReportPath: undefined }));
    s.sink.publish(warning({ id: 'n-after' }));
    s.start();
    await smtp.until(() => smtp.delivered.length === 1, 20_000, 'the message after the rejected one');
    expect(await s.drain(10_000)).toBe(true);
    expect(smtp.attempts.map((a) => a.reply)).toEqual(['550', '250']);
    expect(smtp.delivered[0]?.mail.headers.get('x-headroom-notification-id')).toBe('n-after');
    expect(await metric(s, 'headroom_notifications_failed_total', 'email')).toBe(1);
    expect(await metric(s, 'headroom_notifications_sent_total', 'email')).toBe(1);
    const dropped = logText.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'notification dropped');
    expect(dropped).toMatchObject({ level: 'error', notifier: 'email', notification_id: 'n-rejected', kind: 'action' });
    expect(String(dropped?.reason)).toMatch(/not retryable: .*550/);
    expect(await s.drain(5000)).toBe(true);
    expect(readdirSync(join(dir, 'outbox')).filter((f) => f.startsWith('msg-'))).toEqual([]);
  });

  it('a wrong password is a final 535, reported without the password', async () => {
    writeFileSync(join(dir, 'smtp-password'), 'pa55-wrong-password\n');
    const s = make();
    s.sink.publish(warning());
    s.start();
    await smtp.until(() => smtp.authFailures.length === 1, 20_000, 'the failed AUTH');
    expect(await s.drain(10_000)).toBe(true);
    expect(smtp.delivered).toHaveLength(0);
    expect(await metric(s, 'headroom_notifications_failed_total', 'email')).toBe(1);
    const dropped = logText.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'notification dropped');
    expect(String(dropped?.reason)).toContain('535');
    expect(logText.join('')).not.toContain('wrong-password');
  });

  it('Slack and e-mail are each optional; config errors name the key', () => {
    expect(make().notifiers).toEqual(['log', 'email']);
    const bad = (email: Record<string, unknown>): string => {
      const r = notifySection.safeParse({ state_dir: dir, email: { host: 'smtp.example.com', from: 'a@b.c', to: ['x@y.z'], ...email } });
      expect(r.success).toBe(false);
      return JSON.stringify(r.error?.issues.map((i) => [i.path.join('.'), i.message]));
    };
    expect(bad({ password: PASSWORD })).toContain('["email.password_file","is required instead of an inline password');
    expect(bad({ password: PASSWORD })).not.toContain(PASSWORD);
    expect(bad({ username: 'u' })).toContain('["email.password_file","is required: give username and password_file together');
    expect(bad({ to: ['not an address'] })).toContain('["email.to.0","must be an e-mail address');
    expect(bad({ security: 'ssl' })).toContain('["email.security","must be one of starttls, tls, none"]');
    const config = notifySection.parse({ state_dir: dir, email: { host: 'smtp.example.com', from: 'a@b.c', to: ['x@y.z'], username: 'u', password_file: join(dir, 'missing') } });
    const logger = createLogger({ write: (line: string) => logText.push(line) }, () => new Date());
    expect(() => createNotificationService({ now: () => Date.now(), sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)), config, logger })).toThrow(ConfigError);
    expect(() => createNotificationService({ now: () => Date.now(), sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)), config, logger })).toThrow(/notify\.email\.password_file: cannot read ".*missing" \(ENOENT\)/);
    const plain = notifySection.parse({ state_dir: dir, email: { host: 'smtp.example.com', security: 'none', from: 'a@b.c', to: ['x@y.z'] } });
    expect(() => createNotificationService({ now: () => Date.now(), sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)), config: plain, logger })).toThrow(/notify\.email\.security: "none" .* only for a server on loopback/);
  });
});

describe('renderEmail (pure)', () => {
  it('renders every kind with a subject, text and escaped HTML', () => {
    for (const n of [warning(), action(), refusal()]) {
      const m = renderEmail({ ...n, host: `box${PAYLOAD}` }, { subjectPrefix: '[hr]' });
      expect(m.subject.startsWith('[hr] ')).toBe(true);
      expect(m.subject.length).toBeLessThanOrEqual(160);
      expect(m.html).not.toContain('<script>');
      expect(m.html).toContain('box&lt;script&gt;');
      expect(m.text).toContain(`box${PAYLOAD}`);
    }
    const linked = renderEmail(action(), { subjectPrefix: '', reportUrl: (id) => `http://h/incidents/${id}` });
    expect(linked.subject).toBe('Action on ml-box-1: Stopped python3 (pid 449948)');
    expect(linked.text).toMatch(/^Report: +http:\/\/h\/incidents\/inc-20251212-0313$/m);
  });
});
