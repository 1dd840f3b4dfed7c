import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { stamped, type AuditSink } from '../audit/audit-log.js';
import { errorMessage, type Logger } from '../logging/logger.js';
import type { ReceiverMetrics } from '../remediation/metrics.js';
import type { RemediationPipeline } from '../remediation/pipeline.js';
import { authorize, type Credentials } from './auth.js';
import { parseWebhook } from './payload.js';
import { triggersFromPayload, type Route } from './triggers.js';

export interface ReceiverDeps {
  /** Where accepted alerts go: its one queue dedupes, bounds and serializes them (remediation/pipeline.ts). */
  readonly pipeline: RemediationPipeline;
  readonly credentials: Credentials;
  readonly maxBodyBytes: number;
  readonly maxQueue: number;
  readonly audit: AuditSink;
  readonly metrics: ReceiverMetrics;
  readonly now: () => Date;
  readonly logger: Logger;
}

/**
 * The Alertmanager webhook endpoints: POST /alerts/remediate (critical alerts; may act) and POST
 * /alerts/notify (never acts). The accept path is authenticate → read (size-limited) → validate → submit to
 * the pipeline's queue → reply 200, all synchronous and small: it never waits for a decision, a scan or a
 * rendering (those run in the pipeline's worker, whose scans hand the event loop back every few ms).
 */
export class Receiver {
  readonly router: Router;

  constructor(private readonly deps: ReceiverDeps) {
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
    return this.deps.pipeline.depth;
  }

  /** Resolves when the queue is empty and the worker is idle (tests, shutdown). */
  idle(): Promise<void> {
    return this.deps.pipeline.idle();
  }

  private reject(route: Route, req: Request, res: Response, code: number, reasonCode: string, reason: string): void {
    this.deps.metrics.rejected(route, reasonCode);
    this.deps.metrics.request(route, code);
    this.deps.audit.append(stamped(this.deps.now(), { event: 'rejected', source: 'receiver', reasonCode, reason, route, status: code, remote: req.socket.remoteAddress }));
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
    const { pipeline } = this.deps;
    const fresh = new Set(triggers.filter((t) => !pipeline.isRepeat(t)).map((t) => t.key));
    if (!pipeline.hasRoom(fresh.size)) {
      this.reject(route, req, res, 503, 'queue_full', `${pipeline.depth} alerts waiting (receiver.max_queue ${this.deps.maxQueue}); retry later`);
      return;
    }
    let queued = 0;
    let duplicates = 0;
    for (const t of triggers) {
      const s = pipeline.submit(t, { route, sharedSnapshot: true });
      if (s.queued) {
        queued += 1;
        // The disposition is audited and notified by the pipeline; the reply does not wait for it.
        s.done.catch((error: unknown) => this.deps.logger.error('remediation failed', { alert: t.alertName, error: errorMessage(error) }));
      } else duplicates += 1;
    }
    this.deps.metrics.queueDepth(pipeline.depth);
    this.deps.metrics.request(route, 200);
    res.status(200).json({ status: 'accepted', alerts: triggers.length, queued, duplicates });
  }
}
