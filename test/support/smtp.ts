import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';

/** A self-signed certificate for 127.0.0.1 made with openssl in a temporary directory (removed by cleanup()). */
export function selfSignedCert(): { key: string; cert: string; certFile: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `headroom-people-smtp-${process.pid}-`));
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
  ], { stdio: 'pipe' });
  return {
    key: readFileSync(join(dir, 'key.pem'), 'utf8'),
    cert: readFileSync(join(dir, 'cert.pem'), 'utf8'),
    certFile: join(dir, 'cert.pem'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface Delivered {
  readonly mail: ParsedMail;
  readonly secure: boolean;
  readonly user: string | undefined;
  readonly rcptTo: string[];
}

/** What the server answers to the next DATA commands: 'ok' or an SMTP reply code with text. */
export type Reply = 'ok' | { code: number; message: string };

/**
 * A real SMTP server (the smtp-server package) on 127.0.0.1: STARTTLS with the given certificate, AUTH
 * PLAIN/LOGIN only after TLS, checked against one user and password; scripted answers to DATA.
 */
export class TestSmtp {
  readonly delivered: Delivered[] = [];
  readonly attempts: Array<{ secure: boolean; reply: string }> = [];
  readonly authFailures: string[] = [];
  private script: Reply[] = [];
  private waiters: Array<() => void> = [];

  private constructor(private readonly server: SMTPServer, readonly port: number) {}

  static async start(opts: { key: string; cert: string; user: string; password: string }): Promise<TestSmtp> {
    const ref: { self?: TestSmtp } = {};
    const server = new SMTPServer({
      secure: false,
      key: opts.key,
      cert: opts.cert,
      authMethods: ['PLAIN', 'LOGIN'],
      allowInsecureAuth: false,
      logger: false,
      onAuth(auth, session, callback) {
        if (auth.username === opts.user && auth.password === opts.password && session.secure) {
          callback(null, { user: auth.username });
          return;
        }
        ref.self?.authFailures.push(auth.username ?? '');
        callback(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
      },
      onData(stream, session: SMTPServerSession, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const t = ref.self as TestSmtp;
          const reply = t.script.shift() ?? 'ok';
          t.attempts.push({ secure: session.secure, reply: reply === 'ok' ? '250' : String(reply.code) });
          if (reply !== 'ok') {
            callback(Object.assign(new Error(reply.message), { responseCode: reply.code }));
            t.wake();
            return;
          }
          simpleParser(Buffer.concat(chunks)).then(
            (mail) => {
              t.delivered.push({
                mail,
                secure: session.secure,
                user: (session.user as string | undefined) ?? undefined,
                rcptTo: session.envelope.rcptTo.map((r) => r.address),
              });
              callback();
              t.wake();
            },
            (error: unknown) => callback(error as Error),
          );
        });
      },
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const port = ((server as unknown as { server: { address(): AddressInfo } }).server.address()).port;
    ref.self = new TestSmtp(server, port);
    return ref.self;
  }

  /** The next DATA commands get these answers, in order; then 250. */
  answer(...replies: Reply[]): void {
    this.script.push(...replies);
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Resolves when `pred` holds, or rejects after `ms` (bounded). */
  async until(pred: () => boolean, ms: number, what: string): Promise<void> {
    const deadline = Date.now() + ms;
    while (!pred()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${ms} ms waiting for ${what}; attempts: ${JSON.stringify(this.attempts)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
