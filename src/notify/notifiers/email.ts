import { isIP } from 'node:net';
import { basename } from 'node:path';
import nodemailer from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';
import type { Notification } from '../events.js';
import type { Notifier, SendResult } from '../notifier.js';
import { renderEmail } from '../render/email.js';

export interface EmailNotifierOptions {
  readonly host: string;
  readonly port: number;
  /** starttls: STARTTLS required; tls: implicit TLS; none: plaintext (loopback only, checked by the service). */
  readonly security: 'starttls' | 'tls' | 'none';
  /** PEM CA the server certificate must chain to; undefined: the system CAs. */
  readonly ca?: string;
  readonly from: string;
  readonly to: readonly string[];
  /** SMTP AUTH; the password is a secret: never logged, never in a reason. */
  readonly auth?: { readonly user: string; readonly pass: string };
  readonly subjectPrefix: string;
  readonly reportBaseUrl?: string;
  readonly attachReport: boolean;
  /** Reads an incident report to attach (the service passes fs). Throws when it cannot. */
  readonly readReport: (path: string) => string;
  /** Connection, greeting and socket timeout of one attempt. */
  readonly requestTimeoutMs: number;
  /** Name for metrics/cursor; default "email". */
  readonly name?: string;
}

/** What nodemailer attaches to its errors (SMTP reply code, our classification key). */
interface SmtpError {
  readonly message?: string;
  readonly code?: string;
  readonly responseCode?: number;
  readonly response?: string;
}

/** Codes of failures that waiting does not fix: TLS/certificate problems, a refused message, bad config. */
const FINAL_CODES = new Set(['ETLS', 'EENVELOPE', 'EMESSAGE', 'EREQUIRETLS', 'ECONFIG']);

/**
 * Turns a nodemailer failure into a SendResult. After RFC 5321 §4.2.1: a 4yz reply is a transient failure (retry),
 * a 5yz reply a permanent one (recorded as failed, not retried). No reply at all (connection refused, timeout,
 * dropped socket) is retried. The reason never contains the password (`secrets` are cut out as well).
 */
export function classifySmtpError(error: unknown, secrets: readonly string[], aborted: boolean): SendResult {
  const e = (error ?? {}) as SmtpError;
  let reason = `SMTP delivery failed: ${e.message ?? String(error)}`;
  for (const s of secrets) if (s.length > 0) reason = reason.split(s).join('<redacted>');
  reason = reason.replace(/\s+/g, ' ').slice(0, 300);
  if (aborted) return { ok: false, retryable: true, aborted: true, reason: 'SMTP attempt aborted: the notification service is stopping' };
  const status = e.responseCode;
  if (status !== undefined && status >= 400 && status < 500) return { ok: false, retryable: true, status, reason };
  if (status !== undefined && status >= 500) return { ok: false, retryable: false, status, reason };
  if (e.code !== undefined && FINAL_CODES.has(e.code)) return { ok: false, retryable: false, reason };
  return { ok: false, retryable: true, reason };
}

/** Sends each notification as one e-mail (text + HTML, the incident report attached or linked) over SMTP. */
export function createEmailNotifier(options: EmailNotifierOptions): Notifier {
  const name = options.name ?? 'email';
  const transportOptions: SMTPTransport.Options = {
    host: options.host,
    port: options.port,
    secure: options.security === 'tls',
    requireTLS: options.security === 'starttls',
    ignoreTLS: options.security === 'none',
    ...(options.auth ? { auth: { user: options.auth.user, pass: options.auth.pass } } : {}),
    tls: { ...(options.ca !== undefined ? { ca: options.ca } : {}), ...(isIP(options.host) === 0 ? { servername: options.host } : {}), minVersion: 'TLSv1.2' },
    connectionTimeout: options.requestTimeoutMs,
    greetingTimeout: options.requestTimeoutMs,
    socketTimeout: options.requestTimeoutMs,
    logger: false,
    debug: false,
  };
  const transport = nodemailer.createTransport(transportOptions);
  const secrets = options.auth ? [options.auth.pass] : [];
  return {
    name,
    async send(n: Notification, signal: AbortSignal): Promise<SendResult> {
      let attachment: { filename: string; content: string } | undefined;
      let attachNote: string | undefined;
      if ((n.kind === 'action' || n.kind === 'incident') && options.attachReport && n.incidentReportPath !== undefined) {
        try {
          attachment = { filename: basename(n.incidentReportPath), content: options.readReport(n.incidentReportPath) };
          attachNote = attachment.filename;
        } catch (error) {
          // The mail still goes out (with the link when configured); the body says why nothing is attached.
          attachNote = `not attached: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'} ${n.incidentReportPath}`;
        }
      }
      const base = options.reportBaseUrl?.replace(/\/+$/, '');
      const message = renderEmail(n, {
        subjectPrefix: options.subjectPrefix,
        ...(base !== undefined ? { reportUrl: (id: string) => `${base}/incidents/${encodeURIComponent(id)}` } : {}),
        ...(attachNote !== undefined ? { attachedReport: attachNote } : {}),
      });
      if (signal.aborted) return { ok: false, retryable: true, aborted: true, reason: 'SMTP attempt aborted: the notification service is stopping' };
      let onAbort: (() => void) | undefined;
      const aborted = new Promise<'aborted'>((resolve) => {
        onAbort = () => resolve('aborted');
        signal.addEventListener('abort', onAbort, { once: true });
      });
      try {
        const sent = transport.sendMail({
          from: options.from,
          to: [...options.to],
          subject: message.subject,
          text: message.text,
          html: message.html,
          headers: { 'X-Headroom-Notification-Id': n.id, 'X-Headroom-Kind': n.kind },
          ...(attachment ? { attachments: [{ filename: attachment.filename, content: attachment.content, contentType: 'text/markdown; charset=utf-8' }] } : {}),
        });
        const first = await Promise.race([sent.then(() => 'sent' as const), aborted]);
        if (first === 'aborted') {
          // The attempt may still complete; its outcome no longer matters (the message stays in the outbox).
          sent.catch(() => undefined);
          return { ok: false, retryable: true, aborted: true, reason: 'SMTP attempt aborted: the notification service is stopping' };
        }
        return { ok: true };
      } catch (error) {
        return classifySmtpError(error, secrets, signal.aborted);
      } finally {
        if (onAbort) signal.removeEventListener('abort', onAbort);
      }
    },
  };
}
