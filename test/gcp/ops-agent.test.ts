// deploy/gcp/ops-agent-config.yaml: parses, has the Ops Agent's shape (metrics.receivers of type prometheus
// with config.scrape_configs, wired in service.pipelines), points at the agent's own default address and
// metrics path (read from the code), and its scrape config is one Prometheus itself accepts (promtool).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dump, load } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LISTEN } from '../../src/config/sections/agent.js';
import { METRICS_PATH } from '../../src/exporter/app.js';
import { repo, runTool } from '../alerting/support.js';

const FILE = repo('deploy', 'gcp', 'ops-agent-config.yaml');
const TEXT = readFileSync(FILE, 'utf8');

interface ScrapeConfig {
  job_name?: unknown;
  metrics_path?: unknown;
  static_configs?: Array<{ targets?: unknown }>;
  relabel_configs?: Array<Record<string, unknown>>;
}
interface OpsAgentConfig {
  metrics?: {
    receivers?: Record<string, { type?: unknown; config?: { scrape_configs?: ScrapeConfig[] } }>;
    service?: { pipelines?: Record<string, { receivers?: unknown }> };
  };
}

/** The prometheus receivers' scrape configs that are wired into a pipeline, or the problems found. */
function check(doc: OpsAgentConfig): { problems: string[]; scrapes: ScrapeConfig[] } {
  const problems: string[] = [];
  const receivers = doc.metrics?.receivers ?? {};
  const pipelines = doc.metrics?.service?.pipelines ?? {};
  const wired = new Set<string>();
  for (const [name, p] of Object.entries(pipelines)) {
    if (!Array.isArray(p.receivers)) {
      problems.push(`metrics.service.pipelines.${name}.receivers must be a list`);
      continue;
    }
    for (const r of p.receivers as unknown[]) {
      if (typeof r !== 'string' || !(r in receivers)) problems.push(`pipeline ${name} names receiver ${String(r)}, which metrics.receivers does not define`);
      else wired.add(r);
    }
  }
  const scrapes: ScrapeConfig[] = [];
  for (const [name, r] of Object.entries(receivers)) {
    if (r.type !== 'prometheus') continue;
    if (!wired.has(name)) problems.push(`receiver ${name} is in no pipeline`);
    const sc = r.config?.scrape_configs;
    if (!Array.isArray(sc) || sc.length === 0) problems.push(`receiver ${name} has no config.scrape_configs`);
    else scrapes.push(...sc);
  }
  if (scrapes.length === 0) problems.push('no prometheus receiver with scrape_configs');
  const agent = scrapes.filter((s) => s.job_name === 'headroom');
  if (agent.length !== 1) problems.push(`expected one scrape config with job_name headroom, found ${agent.length}`);
  for (const s of agent) {
    if ((s.metrics_path ?? '/metrics') !== METRICS_PATH) problems.push(`metrics_path is ${String(s.metrics_path)}, the agent serves ${METRICS_PATH}`);
    const targets = (s.static_configs ?? []).flatMap((c) => (Array.isArray(c.targets) ? (c.targets as unknown[]) : []));
    if (targets.length !== 1 || targets[0] !== DEFAULT_LISTEN) problems.push(`targets are ${JSON.stringify(targets)}, the agent listens on ${DEFAULT_LISTEN} by default`);
  }
  return { problems, scrapes };
}

describe('deploy/gcp/ops-agent-config.yaml', () => {
  const doc = load(TEXT) as OpsAgentConfig;

  it("parses and scrapes the agent at its default address and path (from the agent's code)", () => {
    expect(DEFAULT_LISTEN).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(METRICS_PATH).toBe('/metrics');
    expect(check(doc).problems).toEqual([]);
  });

  it('the check fails on broken copies: another port, another path, an unwired receiver', () => {
    const port = load(TEXT.replace(`'${DEFAULT_LISTEN}'`, "'127.0.0.1:9100'")) as OpsAgentConfig;
    expect(check(port).problems.join('\n')).toContain(`the agent listens on ${DEFAULT_LISTEN}`);
    const path = load(TEXT.replace('metrics_path: /metrics', 'metrics_path: /stats')) as OpsAgentConfig;
    expect(check(path).problems.join('\n')).toContain(`the agent serves ${METRICS_PATH}`);
    const unwired = load(TEXT.replace(/receivers:\n(\s+)- headroom\n$/, 'receivers:\n$1- hostmetrics\n')) as OpsAgentConfig;
    expect(check(unwired).problems).toEqual(expect.arrayContaining(['receiver headroom is in no pipeline']));
  });

  it('its scrape config is valid Prometheus (promtool check config), with the VM name in `instance` once installed', () => {
    const installed = TEXT.replaceAll('HEADROOM_HOSTNAME', 'gpu-box-7');
    expect(TEXT).toContain('sed "s/HEADROOM_HOSTNAME/$(hostname)/"');
    const { scrapes } = check(load(installed) as OpsAgentConfig);
    expect(scrapes[0]?.relabel_configs).toEqual([{ target_label: 'instance', replacement: 'gpu-box-7' }]);
    const dir = mkdtempSync(join(tmpdir(), 'headroom-gcp-'));
    try {
      const path = join(dir, 'prometheus.yml');
      writeFileSync(path, dump({ scrape_configs: scrapes }));
      const ok = runTool('promtool', ['check', 'config', path]);
      expect(ok.status, ok.output).toBe(0);
      writeFileSync(path, dump({ scrape_configs: [{ ...scrapes[0], scrape_timeout: '30s' }] }));
      const bad = runTool('promtool', ['check', 'config', path]);
      expect(bad.status, 'promtool rejects a timeout above the interval').not.toBe(0);
      expect(bad.output).toMatch(/scrape timeout greater than scrape interval/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
