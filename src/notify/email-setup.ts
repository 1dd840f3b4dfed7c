import { ConfigError } from '../config/load.js';
import type { EmailConfig } from '../config/sections/notify.js';
import type { Notifier } from './notifier.js';
import { createEmailNotifier } from './notifiers/email.js';

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|::1|\[::1\])$/;

/**
 * Builds the e-mail notifier from notify.email: reads the password and CA files (errors name the key and the
 * fix, never the password) and returns the secrets the service's logger must redact.
 */
export function buildEmailNotifier(email: EmailConfig, readFile: (path: string) => string): { notifier: Notifier; secrets: string[] } {
  const read = (key: string, path: string, what: string): string => {
    try {
      return readFile(path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.message : String(error));
      throw new ConfigError('notify', [`notify.email.${key}: cannot read "${path}" (${code}); give a readable file with ${what}`]);
    }
  };
  if (email.security === 'none' && !LOOPBACK.test(email.host)) {
    throw new ConfigError('notify', [`notify.email.security: "none" sends the password and the reports in clear text; it is accepted only for a server on loopback (host ${email.host}); use starttls or tls`]);
  }
  let auth: { user: string; pass: string } | undefined;
  if (email.username !== undefined && email.password_file !== undefined) {
    const pass = read('password_file', email.password_file, 'the SMTP password as its only content').trim();
    if (pass === '') throw new ConfigError('notify', [`notify.email.password_file: "${email.password_file}" is empty; put the SMTP password in it`]);
    auth = { user: email.username, pass };
  }
  const ca = email.ca_file !== undefined ? read('ca_file', email.ca_file, 'the PEM certificate of the CA that signed the SMTP server\'s certificate') : undefined;
  const notifier = createEmailNotifier({
    host: email.host,
    port: email.port,
    security: email.security,
    ...(ca !== undefined ? { ca } : {}),
    from: email.from,
    to: email.to,
    ...(auth ? { auth } : {}),
    subjectPrefix: email.subject_prefix,
    ...(email.report_base_url !== undefined ? { reportBaseUrl: email.report_base_url } : {}),
    attachReport: email.attach_report,
    readReport: readFile,
    requestTimeoutMs: email.request_timeout,
  });
  return { notifier, secrets: auth ? [auth.pass] : [] };
}
