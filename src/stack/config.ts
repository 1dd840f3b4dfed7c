import { isAbsolute, join, resolve } from 'node:path';
import { dump, load } from 'js-yaml';

/**
 * Pure renderers: the committed prometheus/prometheus.yml and alerting/alertmanager.yml, rewritten for a stack
 * whose processes listen on other loopback ports and keep their files elsewhere. Everything the rewrite does not
 * name (intervals, routes, inhibitions) is kept as committed, so the stack runs the same alerting as production.
 */

export interface PrometheusRendering {
  /** Directory of the committed prometheus.yml; relative rule_files are resolved against it. */
  readonly configDir: string;
  /** host:port of each headroom agent to scrape (job "headroom"). */
  readonly agentTargets: readonly string[];
  readonly prometheusTarget: string;
  readonly alertmanagerTarget: string;
  /** Overrides the headroom job's scrape interval (tests use 1s). */
  readonly agentScrapeInterval?: string;
  readonly evaluationInterval?: string;
}

interface StaticConfig {
  targets?: string[];
}
interface ScrapeConfig {
  job_name: string;
  scrape_interval?: string;
  scrape_timeout?: string;
  static_configs?: StaticConfig[];
}
interface PrometheusConfig {
  global?: Record<string, unknown>;
  rule_files?: string[];
  alerting?: { alertmanagers?: Array<{ static_configs?: StaticConfig[] }> };
  scrape_configs?: ScrapeConfig[];
}

function asObject<T>(text: string, what: string): T {
  const doc = load(text);
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new Error(`${what}: expected a YAML mapping at the top level`);
  return doc as T;
}

function shorter(a: string, b: string): string {
  // Prometheus refuses a scrape_timeout above the scrape_interval; both are whole seconds here.
  const secs = (d: string): number => Number(/^(\d+)s$/.exec(d)?.[1] ?? Number.NaN);
  return secs(a) < secs(b) ? a : b;
}

export function renderPrometheusConfig(template: string, r: PrometheusRendering): string {
  const cfg = asObject<PrometheusConfig>(template, 'prometheus.yml');
  cfg.rule_files = (cfg.rule_files ?? []).map((f) => (isAbsolute(f) ? f : resolve(r.configDir, f)));
  if (r.evaluationInterval !== undefined) cfg.global = { ...cfg.global, evaluation_interval: r.evaluationInterval };
  cfg.alerting = { alertmanagers: [{ static_configs: [{ targets: [r.alertmanagerTarget] }] }] };
  const jobs = cfg.scrape_configs ?? [];
  const job = (name: string): ScrapeConfig => {
    const found = jobs.find((j) => j.job_name === name);
    if (!found) throw new Error(`prometheus.yml: no scrape job "${name}"`);
    return found;
  };
  const headroom = job('headroom');
  headroom.static_configs = [{ targets: [...r.agentTargets] }];
  if (r.agentScrapeInterval !== undefined) {
    headroom.scrape_interval = r.agentScrapeInterval;
    if (headroom.scrape_timeout !== undefined) headroom.scrape_timeout = shorter(headroom.scrape_timeout, r.agentScrapeInterval);
  }
  job('prometheus').static_configs = [{ targets: [r.prometheusTarget] }];
  return dump(cfg, { lineWidth: 120 });
}

export interface AlertmanagerRendering {
  /** Base URL of the agent whose receiver gets the webhooks, e.g. http://127.0.0.1:9632. */
  readonly agentUrl: string;
  /** File holding the bearer token the receiver expects. */
  readonly tokenFile: string;
}

interface WebhookConfig {
  url?: string;
  http_config?: { authorization?: { type?: string; credentials_file?: string } };
}
interface AlertmanagerConfig {
  receivers?: Array<{ name: string; webhook_configs?: WebhookConfig[] }>;
}

/** Points every webhook at the given agent (same path) and every bearer token at the given file. */
export function renderAlertmanagerConfig(template: string, r: AlertmanagerRendering): string {
  const cfg = asObject<AlertmanagerConfig>(template, 'alertmanager.yml');
  const base = new URL(r.agentUrl);
  let webhooks = 0;
  for (const receiver of cfg.receivers ?? []) {
    for (const hook of receiver.webhook_configs ?? []) {
      if (hook.url === undefined) continue;
      const url = new URL(hook.url);
      url.protocol = base.protocol;
      url.host = base.host;
      hook.url = url.toString();
      const auth = hook.http_config?.authorization;
      if (auth?.credentials_file !== undefined) auth.credentials_file = r.tokenFile;
      webhooks += 1;
    }
  }
  if (webhooks === 0) throw new Error('alertmanager.yml: no webhook receiver to point at the agent');
  return dump(cfg, { lineWidth: 120 });
}

/** The files of a stack's state directory. */
export function stackPaths(stateDir: string): {
  prometheusConfig: string;
  prometheusData: string;
  alertmanagerConfig: string;
  alertmanagerData: string;
  tokenFile: string;
  logs: string;
} {
  return {
    prometheusConfig: join(stateDir, 'prometheus.yml'),
    prometheusData: join(stateDir, 'prometheus'),
    alertmanagerConfig: join(stateDir, 'alertmanager.yml'),
    alertmanagerData: join(stateDir, 'alertmanager'),
    tokenFile: join(stateDir, 'receiver-token'),
    logs: join(stateDir, 'logs'),
  };
}
