import { z } from 'zod';
import { duration, section } from '../schema-helpers.js';

/** Where the outbox lives when notify.state_dir is not given. */
export const DEFAULT_NOTIFY_STATE_DIR = '/var/lib/headroom/notify';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const looksLikeUrl = (value: string): boolean => /:\/\//.test(value);

const INLINE_HELP =
  'the Slack webhook URL is a secret and must not be written in the config file; put it in a file readable only by headroom and set ' +
  'webhook_url_file (e.g. /etc/headroom/slack-webhook-url), or in an environment variable and set webhook_url_env (e.g. HEADROOM_SLACK_WEBHOOK_URL)';

/**
 * Slack delivery. The webhook URL is read at start-up from a file or an environment variable, never from this
 * file. Problems with the secret-bearing keys are reported on a neighbouring key so that the config error
 * (which quotes the offending value) never prints the URL.
 */
export const slackSection = section({
  /** Not allowed: present only to give a clear error instead of "unknown key". */
  webhook_url: z.unknown().optional(),
  /** A file whose content (trimmed) is the webhook URL. */
  webhook_url_file: z.string().optional(),
  /** The name of an environment variable holding the webhook URL. */
  webhook_url_env: z.string().optional(),
  /** Override the webhook's default channel (only honoured by legacy webhooks). */
  channel: z.string().min(1, { error: 'must not be empty' }).optional(),
  username: z.string().min(1, { error: 'must not be empty' }).optional(),
  icon_emoji: z
    .string()
    .regex(/^:[a-z0-9_+'-]+:$/, { error: 'must be an emoji code such as :rotating_light:' })
    .optional(),
  /** One POST to Slack is abandoned (and retried) after this long. */
  request_timeout: duration().prefault('10s'),
  /**
   * Base URL of the agent's page: action and incident messages link to <report_base_url>/incidents/<id> and its
   * memory chart (<id>.svg). Defaults to notify.email.report_base_url; without either, no links.
   */
  report_base_url: z.url({ error: 'must be a URL such as https://gpu-box-1:9632' }).optional(),
})
  .superRefine((s, ctx) => {
    if (s.webhook_url !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['webhook_url_file'], message: `is required instead of an inline webhook_url: ${INLINE_HELP}` });
      return;
    }
    if (s.webhook_url_env !== undefined && looksLikeUrl(s.webhook_url_env)) {
      ctx.addIssue({
        code: 'custom',
        path: ['webhook_url_file'],
        message: `or a variable name is required: webhook_url_env holds what looks like a URL (not shown), but it must be the NAME of an environment variable; ${INLINE_HELP}`,
      });
      return;
    }
    if (s.webhook_url_file !== undefined && looksLikeUrl(s.webhook_url_file)) {
      ctx.addIssue({
        code: 'custom',
        path: ['webhook_url_env'],
        message: `or a file path is required: webhook_url_file holds what looks like a URL (not shown), but it must be the path of a file containing the URL; ${INLINE_HELP}`,
      });
      return;
    }
    if (s.webhook_url_file !== undefined && s.webhook_url_env !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['webhook_url_env'], message: 'give either webhook_url_file or webhook_url_env, not both' });
    } else if (s.webhook_url_file === undefined && s.webhook_url_env === undefined) {
      ctx.addIssue({ code: 'custom', path: ['webhook_url_file'], message: `is required (or webhook_url_env): ${INLINE_HELP}` });
    }
    if (s.webhook_url_file !== undefined && s.webhook_url_file.trim() === '') {
      ctx.addIssue({ code: 'custom', path: ['webhook_url_file'], message: 'must be the path of a file containing the webhook URL' });
    }
    if (s.webhook_url_env !== undefined && !ENV_NAME.test(s.webhook_url_env)) {
      ctx.addIssue({ code: 'custom', path: ['webhook_url_env'], message: 'must be an environment variable name such as HEADROOM_SLACK_WEBHOOK_URL' });
    }
  })
  .transform(({ webhook_url: _inline, ...rest }) => rest);

const EMAIL_ADDRESS = /^[^\s@<>]+@[^\s@<>]+$/;
const emailAddress = () => z.string().regex(EMAIL_ADDRESS, { error: 'must be an e-mail address such as oncall@example.com' });

/**
 * E-mail delivery over SMTP (nodemailer). STARTTLS is required by default; the password is read at start-up
 * from password_file, never written here (an inline `password` is refused with the fix).
 */
export const emailSection = section({
  /** The SMTP server (submission port 587 with STARTTLS by default). */
  host: z.string().min(1, { error: 'must be the SMTP server host name, e.g. smtp.example.com' }),
  port: z.number({ error: 'must be a TCP port number' }).int().min(1).max(65535).default(587),
  /**
   * "starttls" (default): plain connect, then STARTTLS, refusing to send without it; "tls": TLS from the first
   * byte (port 465); "none": no TLS at all (only accepted for a server on loopback).
   */
  security: z.enum(['starttls', 'tls', 'none'], { error: 'must be one of starttls, tls, none' }).default('starttls'),
  /** PEM file with the CA (or self-signed certificate) the server's certificate must chain to; default the system CAs. */
  ca_file: z.string().min(1).optional(),
  from: emailAddress(),
  to: z.array(emailAddress(), { error: 'must be a list of e-mail addresses' }).min(1, { error: 'must list at least one address' }),
  /** SMTP AUTH user; with password_file. Absent: no AUTH. */
  username: z.string().min(1).optional(),
  /** Not allowed: present only to give a clear error instead of "unknown key". */
  password: z.unknown().optional(),
  /** A file whose content (trimmed) is the SMTP password, readable only by headroom. */
  password_file: z.string().min(1).optional(),
  /** Subject prefix, e.g. "[headroom]". */
  subject_prefix: z.string().default('[headroom]'),
  /** Base URL of the agent's page: action mails link to <report_base_url>/incidents/<id>. */
  report_base_url: z.url({ error: 'must be a URL such as https://gpu-box-1:9632' }).optional(),
  /** Attach the incident report (Markdown) to action mails when it is readable. */
  attach_report: z.boolean().default(true),
  /** One SMTP session is abandoned (and retried) after this long. */
  request_timeout: duration().prefault('30s'),
})
  .superRefine((e, ctx) => {
    if (e.password !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['password_file'],
        message: 'is required instead of an inline password: the SMTP password is a secret; put it in a file readable only by headroom (e.g. /etc/headroom/smtp-password) and set password_file',
      });
      return;
    }
    if ((e.username === undefined) !== (e.password_file === undefined)) {
      ctx.addIssue({ code: 'custom', path: [e.username === undefined ? 'username' : 'password_file'], message: 'is required: give username and password_file together (or neither, for a server without AUTH)' });
    }
  })
  .transform(({ password: _inline, ...rest }) => rest);

export const notifySection = section({
  /** The durable outbox (one file per undelivered message, one cursor per notifier). */
  state_dir: z.string().min(1, { error: 'must be a directory path' }).default(DEFAULT_NOTIFY_STATE_DIR),
  /** Absent: notifications go to the log only. */
  slack: slackSection.optional(),
  /** Absent: no e-mail. Slack and e-mail are each optional and independent. */
  email: emailSection.optional(),
  retry: section({
    /** Wait after the first failed attempt; doubles per failure, with jitter. */
    initial_backoff: duration().prefault('1s'),
    /** Backoff never exceeds this (a 429's Retry-After is honoured as given). */
    max_backoff: duration().prefault('5m'),
    /** A message still undelivered this long after it was published is dropped (and counted as failed). */
    give_up_after: duration().prefault('24h'),
  })
    .prefault({})
    .refine((r) => r.initial_backoff <= r.max_backoff, { error: 'initial_backoff must not exceed max_backoff', path: ['initial_backoff'] }),
});

export type NotifyConfig = z.infer<typeof notifySection>;
export type SlackConfig = NonNullable<NotifyConfig['slack']>;
export type EmailConfig = NonNullable<NotifyConfig['email']>;
