import express, { type Express, type RequestHandler } from 'express';
import type { Registry } from 'prom-client';
import type { CollectorRunner } from '../collectors/runner.js';
import { errorMessage, type Logger } from '../logging/logger.js';
import { renderFamilies } from './render.js';

export interface ExporterOptions {
  readonly runner: CollectorRunner;
  /** Registries rendered after the collectors' metrics: the agent's own process metrics, receiver metrics. */
  readonly extraRegistries: readonly Registry[];
  readonly version: string;
  readonly logger: Logger;
  /** Serves GET / instead of the landing page (the status page, issue #13). */
  readonly home?: RequestHandler;
  /**
   * Hands the event loop back during the scrape's /proc scan (setImmediate in the agent), so the guard and the
   * receiver never wait behind a scrape. Absent: the scan runs in one go.
   */
  readonly yieldToLoop?: () => Promise<void>;
}

const LANDING = (version: string): string => `<!doctype html>
<html><head><meta charset="utf-8"><title>headroom agent</title></head>
<body>
<h1>headroom agent ${version}</h1>
<p>Memory metrics for this host: system memory and pressure, the largest processes and process trees,
process groups and cgroups.</p>
<ul>
<li><a href="metrics">/metrics</a> &mdash; Prometheus metrics</li>
<li><a href="healthz">/healthz</a> &mdash; liveness</li>
</ul>
</body></html>
`;

/** Where the exporter serves the metrics (deploy/gcp and deploy/kubernetes tests check their scrape configs against it). */
export const METRICS_PATH = '/metrics';

/**
 * The express app of the exporter: /metrics (one scrape per request), /healthz and a landing page. Other
 * features (the remediation receiver) mount their routes on the same app.
 */
export function createExporterApp(opts: ExporterOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.get('/', opts.home ?? ((_req, res) => {
    res.type('html').send(LANDING(opts.version));
  }));
  app.get('/healthz', (_req, res) => {
    res.type('text').send('ok\n');
  });
  app.get(METRICS_PATH, async (_req, res) => {
    try {
      const result = opts.yieldToLoop ? await opts.runner.scrapeYielding(opts.yieldToLoop) : opts.runner.scrape();
      const text = await renderFamilies(result.families, opts.extraRegistries);
      res.type('text/plain; version=0.0.4; charset=utf-8').send(text);
    } catch (error) {
      opts.logger.error('scrape failed', { error: errorMessage(error) });
      res.status(500).type('text').send(`scrape failed: ${errorMessage(error)}\n`);
    }
  });
  return app;
}
