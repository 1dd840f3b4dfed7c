import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local stand-in for Slack's incoming-webhook endpoint (127.0.0.1, random port). It answers like Slack:
 * 200 `ok`; 400 `invalid_payload` for a body that is not JSON, `no_text` without text/blocks,
 * `invalid_blocks` when Block Kit limits are broken; 404 `no_service` for another path. Failures can be
 * scripted per request: 429 with Retry-After, 5xx, a hang (the request is accepted and answered late).
 * Every request is recorded in arrival order.
 *
 *   const slack = await FakeSlack.start();
 *   slack.script(reply.rateLimited(1), reply.serverError(503), reply.hang(2000));
 *   ... post to slack.url ...
 *   await slack.waitForDelivered(3, 5000);
 *   await slack.close();
 */

export type FakeSlackReply =
  | { readonly kind: 'ok' }
  | { readonly kind: 'status'; readonly status: number; readonly body: string; readonly retryAfterSeconds?: number }
  | { readonly kind: 'hang'; readonly ms: number; readonly then: FakeSlackReply };

export const reply = {
  ok: (): FakeSlackReply => ({ kind: 'ok' }),
  /** 429 `rate_limited` with `Retry-After: seconds`. */
  rateLimited: (retryAfterSeconds: number): FakeSlackReply => ({ kind: 'status', status: 429, body: 'rate_limited', retryAfterSeconds }),
  serverError: (status: 500 | 502 | 503 | 504 = 500): FakeSlackReply => ({ kind: 'status', status, body: status === 503 ? 'service_unavailable' : 'internal_error' }),
  invalidPayload: (): FakeSlackReply => ({ kind: 'status', status: 400, body: 'invalid_payload' }),
  noService: (): FakeSlackReply => ({ kind: 'status', status: 404, body: 'no_service' }),
  /** Accepts the request and answers only after `ms` (with `then`, default 200 ok), unless the client gave up. */
  hang: (ms: number, then: FakeSlackReply = { kind: 'ok' }): FakeSlackReply => ({ kind: 'hang', ms, then }),
};

export interface ReceivedRequest {
  /** 1-based arrival order. */
  readonly n: number;
  readonly path: string;
  readonly raw: string;
  /** Parsed JSON body, or undefined when it was not JSON. */
  readonly body: unknown;
  readonly at: number;
  /** The status answered, or "aborted" when the client hung up first (hang). Set when answered. */
  status: number | 'aborted' | 'pending';
}

const LIMITS = { blocks: 50, header: 150, section: 3000, fields: 10, field: 2000, contextElements: 10, context: 3000 };

/** Block Kit problems Slack would reject (limits and shapes of the block types headroom uses). */
export function blockKitProblems(payload: unknown): string[] {
  const problems: string[] = [];
  if (payload === null || typeof payload !== 'object') return ['payload is not an object'];
  const p = payload as { text?: unknown; blocks?: unknown };
  if (p.blocks === undefined) return problems;
  if (!Array.isArray(p.blocks)) return ['blocks is not an array'];
  if (p.blocks.length > LIMITS.blocks) problems.push(`${p.blocks.length} blocks > ${LIMITS.blocks}`);
  const textOf = (t: unknown, where: string, max: number, plainOnly = false): void => {
    const o = t as { type?: unknown; text?: unknown } | null;
    if (o === null || typeof o !== 'object' || (o.type !== 'mrkdwn' && o.type !== 'plain_text') || typeof o.text !== 'string') {
      problems.push(`${where}: not a text object`);
      return;
    }
    if (plainOnly && o.type !== 'plain_text') problems.push(`${where}: must be plain_text`);
    if (o.text.length === 0) problems.push(`${where}: empty text`);
    if (o.text.length > max) problems.push(`${where}: ${o.text.length} chars > ${max}`);
  };
  p.blocks.forEach((b: unknown, i: number) => {
    const block = b as { type?: unknown; text?: unknown; fields?: unknown; elements?: unknown };
    const where = `blocks[${i}]`;
    switch (block.type) {
      case 'header':
        textOf(block.text, `${where}.text`, LIMITS.header, true);
        break;
      case 'section':
        if (block.text === undefined && block.fields === undefined) problems.push(`${where}: section without text or fields`);
        if (block.text !== undefined) textOf(block.text, `${where}.text`, LIMITS.section);
        if (block.fields !== undefined) {
          if (!Array.isArray(block.fields) || block.fields.length === 0) problems.push(`${where}.fields: not a non-empty array`);
          else {
            if (block.fields.length > LIMITS.fields) problems.push(`${where}.fields: ${block.fields.length} > ${LIMITS.fields}`);
            block.fields.forEach((f: unknown, j: number) => textOf(f, `${where}.fields[${j}]`, LIMITS.field));
          }
        }
        break;
      case 'context':
        if (!Array.isArray(block.elements) || block.elements.length === 0) problems.push(`${where}.elements: not a non-empty array`);
        else {
          if (block.elements.length > LIMITS.contextElements) problems.push(`${where}.elements: ${block.elements.length} > ${LIMITS.contextElements}`);
          block.elements.forEach((e: unknown, j: number) => textOf(e, `${where}.elements[${j}]`, LIMITS.context));
        }
        break;
      case 'divider':
        break;
      default:
        problems.push(`${where}: unexpected block type ${JSON.stringify(block.type)}`);
    }
  });
  return problems;
}

export class FakeSlack {
  readonly received: ReceivedRequest[] = [];
  private readonly queue: FakeSlackReply[] = [];
  private fallback: FakeSlackReply = { kind: 'ok' };
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly listeners = new Set<() => void>();

  private constructor(
    private readonly server: Server,
    /** The webhook URL to configure; its path holds the secret. */
    readonly url: string,
    /** The secret part of the path: it must never appear in logs. */
    readonly secret: string,
  ) {}

  /** The port it listens on (to start a new one at the same URL). */
  get port(): number {
    return Number(new URL(this.url).port);
  }

  /**
   * Listens on 127.0.0.1 (or `host`: an address inside a test's own network namespace). `port` and `secret` let a test bring "Slack" back at the same URL after close()
   * (an outage that ends).
   */
  static async start(options: { port?: number; secret?: string; host?: string } = {}): Promise<FakeSlack> {
    const secret = options.secret ?? randomBytes(12).toString('hex');
    const path = `/services/TFAKE0000/BFAKE0000/${secret}`;
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    const fake = new FakeSlack(server, `http://${options.host ?? '127.0.0.1'}:${port}${path}`, secret);
    // Nobody knows the port before listen resolves, so no request can arrive before this handler.
    server.on('request', (req: IncomingMessage, res: ServerResponse) => fake.handle(path, req, res));
    return fake;
  }

  /** Replies for the next requests, in order; afterwards the default reply (initially 200 ok). */
  script(...replies: FakeSlackReply[]): void {
    this.queue.push(...replies);
  }

  /** The reply once the script is used up. */
  setDefault(r: FakeSlackReply): void {
    this.fallback = r;
  }

  /** Bodies of the requests answered 200, in arrival order. */
  delivered(): unknown[] {
    return this.received.filter((r) => r.status === 200).map((r) => r.body);
  }

  /** Resolves with delivered() once it has at least `count` entries; rejects after `timeoutMs`. */
  waitForDelivered(count: number, timeoutMs: number): Promise<unknown[]> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        if (this.delivered().length < count) return false;
        clearTimeout(timer);
        this.listeners.delete(listener);
        resolve(this.delivered());
        return true;
      };
      const listener = (): void => {
        check();
      };
      const timer = setTimeout(() => {
        this.listeners.delete(listener);
        reject(new Error(`fake Slack: ${this.delivered().length} of ${count} messages delivered after ${timeoutMs} ms`));
      }, timeoutMs);
      if (!check()) this.listeners.add(listener);
    });
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await new Promise<void>((resolve, reject) => {
      this.server.close((error) => (error ? reject(error) : resolve()));
      this.server.closeAllConnections();
    });
  }

  private handle(path: string, req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = JSON.parse(raw);
      } catch {
        body = undefined;
      }
      const record: ReceivedRequest = { n: this.received.length + 1, path: req.url ?? '', raw, body, at: Date.now(), status: 'pending' };
      this.received.push(record);
      let r: FakeSlackReply;
      if (req.method !== 'POST' || req.url !== path) r = reply.noService();
      else r = this.queue.shift() ?? this.fallback;
      this.answer(r, record, req, res);
    });
  }

  private answer(r: FakeSlackReply, record: ReceivedRequest, req: IncomingMessage, res: ServerResponse): void {
    if (r.kind === 'hang') {
      const onClose = (): void => {
        if (!res.writableEnded) {
          clearTimeout(timer);
          this.timers.delete(timer);
          record.status = 'aborted';
          this.changed();
        }
      };
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        res.off('close', onClose);
        if (res.destroyed) {
          record.status = 'aborted';
          this.changed();
          return;
        }
        this.answer(r.then, record, req, res);
      }, r.ms);
      this.timers.add(timer);
      res.on('close', onClose);
      return;
    }
    let status: number;
    let body: string;
    const headers: Record<string, string> = { 'content-type': 'text/html' };
    if (r.kind === 'status') {
      status = r.status;
      body = r.body;
      if (r.retryAfterSeconds !== undefined) headers['retry-after'] = String(r.retryAfterSeconds);
    } else if (record.body === undefined) {
      status = 400;
      body = 'invalid_payload';
    } else {
      const payload = record.body as { text?: unknown; blocks?: unknown };
      const problems = blockKitProblems(payload);
      if ((typeof payload.text !== 'string' || payload.text === '') && payload.blocks === undefined) {
        status = 400;
        body = 'no_text';
      } else if (problems.length > 0) {
        status = 400;
        body = 'invalid_blocks';
      } else {
        status = 200;
        body = 'ok';
      }
    }
    record.status = status;
    res.writeHead(status, headers);
    res.end(body);
    this.changed();
  }

  private changed(): void {
    for (const l of [...this.listeners]) l();
  }
}
