import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { AuditSink } from '../audit/audit-log.js';
import { errorMessage, type Logger } from '../logging/logger.js';
import type { ReceiverMetrics } from '../remediation/metrics.js';
import type { RemediationPipeline } from '../remediation/pipeline.js';
import { SnapshotCache, type SnapshotReader } from '../remediation/snapshot.js';
import type { Trigger } from '../remediation/trigger.js';
import { authorize, type Credentials } from './auth.js';
import { parseWebhook } from './payload.js';
import { triggersFromPayload, type Route } from './triggers.js';

export interface ReceiverDeps {
  readonly pipeline: RemediationPipeline;
  readonly snapshots: SnapshotReader;
  readonly credentials: Credentials;
  readonly maxBodyBytes: number;
  readonly maxQueue: number;
  readonly audit: AuditSink;
  readonly metrics: ReceiverMetrics;
  readonly now: () => Date;
  /** Monotonic seconds (snapshot cache age). */
  readonly monotonic: () => number;
  readonly logger: Logger;
}

/** First decisions and warnings reuse a snapshot this young (the pipeline re-reads before acting). */
const SNAPSHOT_MAX_AGE_MS = 1000;

/**
 * The Alertmanager webhook endpoints: POST /alerts/remediate (critical alerts; may act) and POST
 * /alerts/notify (never acts). Authentication comes before the body is read; the body is size-limited and
 * validated; accepted alerts are queued and the reply (200) goes out at once. One worker drains the queue in
 * through the remediation pipeline.
 */
export class Receiver {
  readonly router: Router;
  private readonly queue: Trigger[] = [];
  private readonly pending = new Set<string>();
  private running = false;
  private waiters: Array<() => void> = [];
  private readonly cache: SnapshotCache;

  constructor(private readonly deps: ReceiverDeps) {
    this.cache = new SnapshotCache(deps.snapshots, SNAPSHOT_MAX_AGE_MS, deps.monotonic);
    const router = express.Router();
    for (const route of ['remediate', 'notify'] as const) {
      router.post(
        `/alerts/${route}`,
        (req: Request, res: Response, next: NextFunction) => this.authenticate(route, req, res, next),
        express.raw({ type: () => true, limit: deps.maxBodyBytes }),
        (req: Request, res: Response) => this.accept(route, req, res),
        (error: unknown, req: Request, res: Response, next: NextFunction) => this.bodyError(route, error, req, res, next),
      );
    }
    this.router = router;
  }

  /** Alerts waiting for the worker. */
  get depth(): number {
    return this.queue.length;
  }

  /** Resolves when the queue is empty and the worker is idle (tests, shutdown). */
  idle(): Promise<void> {
    if (!this.running && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private reject(route: Route, req: Request, res: Response, code: number, reasonCode: string, reason: string): void {
    this.deps.metrics.rejected(route, reasonCode);
    this.deps.metrics.request(route, code);
    this.deps.audit.append({
      ts: this.deps.now().toISOString(),
      source: 'receiver',
      event: 'rejected',
      reasonCode,
      reason,
      route,
      status: code,
      remote: req.socket.remoteAddress,
    });
    if (code === 401) res.setHeader('WWW-Authenticate', 'Bearer realm="headroom", Basic realm="headroom"');
    res.status(code).json({ status: 'rejected', reason: reasonCode, detail: reason });
  }

  private authenticate(route: Route, req: Request, res: Response, next: NextFunction): void {
    if (authorize(req.headers.authorization, this.deps.credentials)) {
      next();
      return;
    }
    this.reject(route, req, res, 401, 'unauthenticated', req.headers.authorization === undefined ? 'no Authorization header' : 'wrong credentials');
  }

  private bodyError(route: Route, error: unknown, req: Request, res: Response, next: NextFunction): void {
    if (res.headersSent) {
      next(error);
      return;
    }
    const type = typeof error === 'object' && error !== null && 'type' in error ? String(error.type) : '';
    if (type === 'entity.too.large') {
      this.reject(route, req, res, 413, 'oversized', `body larger than ${this.deps.maxBodyBytes} bytes (receiver.max_body_bytes)`);
      return;
    }
    this.reject(route, req, res, 400, 'malformed', `could not read the body: ${errorMessage(error)}`);
  }

  private accept(route: Route, req: Request, res: Response): void {
    const body: unknown = req.body;
    if (!Buffer.isBuffer(body)) {
      this.reject(route, req, res, 400, 'malformed', 'empty body');
      return;
    }
    const parsed = parseWebhook(body);
    if (!parsed.ok) {
      this.reject(route, req, res, 400, parsed.reasonCode, parsed.reason);
      return;
    }
    for (const where of ['message', 'alert'] as const) this.deps.metrics.unknownFields(where, parsed.unknownFields[where]);
    const triggers = triggersFromPayload(parsed.payload, route);
    const fresh: Trigger[] = [];
    let duplicates = 0;
    for (const t of triggers) {
      if (this.pending.has(t.key) || this.deps.pipeline.isDuplicate(t) || fresh.some((f) => f.key === t.key)) {
        this.deps.pipeline.recordDuplicate(t, route);
        duplicates += 1;
      } else fresh.push(t);
    }
    if (this.queue.length + fresh.length > this.deps.maxQueue) {
      this.reject(route, req, res, 503, 'queue_full', `${this.queue.length} alerts waiting (receiver.max_queue ${this.deps.maxQueue}); retry later`);
      return;
    }
    for (const t of fresh) {
      this.pending.add(t.key);
      this.queue.push(t);
    }
    this.deps.metrics.queueDepth(this.queue.length);
    this.deps.metrics.request(route, 200);
    res.status(200).json({ status: 'accepted', alerts: triggers.length, queued: fresh.length, duplicates });
    this.pump();
  }

  private pump(): void {
    if (this.running || this.queue.length === 0) return;
    this.running = true;
    this.drain().then(
      () => this.finished(),
      (error: unknown) => {
        this.deps.logger.error('receiver worker failed', { error: errorMessage(error) });
        this.finished();
      },
    );
  }

  private finished(): void {
    this.running = false;
    if (this.queue.length > 0) {
      this.pump();
      return;
    }
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private async drain(): Promise<void> {
    for (let trigger = this.queue.shift(); trigger !== undefined; trigger = this.queue.shift()) {
      try {
        await this.deps.pipeline.handle(trigger, this.cache);
      } catch (error) {
        this.deps.logger.error('remediation failed', { alert: trigger.alertName, key: trigger.key, error: errorMessage(error) });
        this.deps.audit.append({
          ts: this.deps.now().toISOString(),
          source: trigger.source,
          event: 'refusal',
          reasonCode: 'error',
          reason: `internal error, no action: ${errorMessage(error)}`,
          alertName: trigger.alertName,
          key: trigger.key,
        });
      } finally {
        this.pending.delete(trigger.key);
        this.deps.metrics.queueDepth(this.queue.length);
      }
      // Let the HTTP side accept requests between two decisions.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
}
