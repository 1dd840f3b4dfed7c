import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Registry } from 'prom-client';
import type { Timers, World } from '../domain/world.js';
import { ConfigError } from '../config/load.js';
import type { HeadroomConfig } from '../config/schema.js';
import type { FleetConfig } from '../config/sections/fleet.js';
import { errorMessage } from '../logging/logger.js';
import type { NotificationSink } from '../notify/events.js';
import { AlertSource, type FetchText, type PipelineLike } from './source.js';

export interface RunningAlertSource {
  readonly registry: Registry;
  readonly source: AlertSource;
  stop(): Promise<void>;
}

/** The real HTTP(S) client towards the Alertmanagers, with the fleet section's CA, client cert, basic auth. */
export function alertmanagerClient(cfg: FleetConfig, readText: (path: string) => string): FetchText {
  const read = (key: string, path: string | undefined): string | undefined => {
    if (path === undefined) return undefined;
    try {
      return readText(path);
    } catch (error) {
      throw new ConfigError(`fleet.${key}`, [`cannot read ${path}: ${errorMessage(error)}`]);
    }
  };
  const ca = read('tls.ca_file', cfg.tls.ca_file);
  const cert = read('tls.cert_file', cfg.tls.cert_file);
  const key = read('tls.key_file', cfg.tls.key_file);
  const password = cfg.basic_auth ? read('basic_auth.password_file', cfg.basic_auth.password_file)?.trim() : undefined;
  const authorization = cfg.basic_auth && password !== undefined ? `Basic ${Buffer.from(`${cfg.basic_auth.username}:${password}`).toString('base64')}` : undefined;
  return (url) =>
    new Promise((resolve, reject) => {
      const https = url.startsWith('https:');
      const options = {
        method: 'GET',
        timeout: cfg.timeout,
        headers: { accept: 'application/json', ...(authorization ? { authorization } : {}) },
        ...(https ? { ...(ca !== undefined ? { ca } : {}), ...(cert !== undefined ? { cert } : {}), ...(key !== undefined ? { key } : {}) } : {}),
      };
      const req = (https ? httpsRequest : httpRequest)(url, options, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${cfg.timeout} ms`)));
      req.on('error', reject);
      req.end();
    });
}

/**
 * Starts pulling this host's alerts (fleet.enabled). It feeds the receiver's remediation pipeline — one
 * idempotency state, audit log and rate limit for pulled alerts, pushed alerts and the guard — so it needs
 * the receiver enabled with its credential (which keeps gating actions, as for pushed alerts).
 */
export function startAlertSource(
  config: HeadroomConfig,
  world: World,
  pipeline: PipelineLike | undefined,
  sink: NotificationSink,
  wiring: { readonly host: string; readonly timers: Timers },
): RunningAlertSource {
  const cfg = config.fleet;
  if (pipeline === undefined) {
    throw new ConfigError('fleet.enabled', ['needs receiver.enabled: true (with receiver.auth): pulled alerts run through the receiver\'s remediation pipeline and its credential gate']);
  }
  const registry = new Registry();
  const source = new AlertSource({
    instance: cfg.instance ?? '',
    host: wiring.host,
    members: cfg.alertmanagers,
    remediateReceivers: cfg.remediate_receivers,
    pipeline,
    sink,
    fetchText: alertmanagerClient(cfg, (p) => readFileSync(p, 'utf8')),
    now: world.now,
    logger: world.logger,
    registry,
  });
  let stopped = false;
  let cancel: (() => void) | undefined;
  let current: Promise<unknown> = Promise.resolve();
  const round = (): void => {
    if (stopped) return;
    current = source.poll().then(
      () => undefined,
      (error: unknown) => world.logger.error('fleet: pull failed', { error: errorMessage(error) }),
    );
    void current.then(() => {
      if (!stopped) cancel = wiring.timers.after(cfg.interval, round);
    });
  };
  // A first delay from the host's name spreads a fleet's pulls over the interval (agents started together do not
  // stay in step), the same on every restart of one host.
  cancel = wiring.timers.after(spread(wiring.host, cfg.interval), round);
  world.logger.info('fleet: pulling this host\'s alerts', { instance: cfg.instance, alertmanagers: cfg.alertmanagers, intervalMs: cfg.interval });
  return {
    registry,
    source,
    stop: async () => {
      stopped = true;
      cancel?.();
      await current;
    },
  };
}

/** A stable offset in [0, intervalMs) from a name (FNV-1a). */
export function spread(name: string, intervalMs: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return intervalMs > 0 ? h % intervalMs : 0;
}
