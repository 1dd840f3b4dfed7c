import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Panel } from '../../grafana/src/builders.js';
import { dashboards, renderDashboard } from '../../grafana/src/dashboards.js';
import { renderPrometheusConfig } from '../../src/stack/config.js';
import { httpGet, pollUntil, startProcess, type ManagedProcess } from '../../src/stack/process.js';
import { findOnPath, STACK_BINARIES } from '../../src/stack/install.js';
import { AGENT_MAIN, freePorts, instantQuery, repo } from './support.js';

const all = dashboards();

/** Grafana's variables, as a query test can expand them: every host, a rate window that holds samples. */
function expand(expr: string): string {
  return expr.replaceAll('$instance', '.+').replaceAll('$__rate_interval', '1m');
}

describe('Grafana dashboards', () => {
  it.each(all.map((d) => [d.file, d] as const))('committed grafana/dashboards/%s is what grafana/src generates (npm run dashboards)', (file, d) => {
    const path = repo('grafana', 'dashboards', file);
    expect(existsSync(path), `${path} is missing: run npm run dashboards`).toBe(true);
    expect(readFileSync(path, 'utf8'), `${file} is stale: run npm run dashboards and commit`).toBe(renderDashboard(d.json));
  });

  it('grafana/dashboards holds only generated files', () => {
    expect(readdirSync(repo('grafana', 'dashboards')).sort()).toEqual(all.map((d) => d.file).sort());
  });

  it('has the panels the issue asks for, each with a description and queries', () => {
    const panels = all.flatMap((d) => d.spec.panels).filter((p) => p.type !== 'row');
    const titles = panels.map((p) => p.title);
    for (const t of ['Memory used % with the alert thresholds', 'Available memory and swap', 'Pressure stall (PSI)', 'Top processes', 'Process groups (stacked)', 'cgroups against their limits', 'OOM kills', 'Remediation actions', 'Alerts']) {
      expect(titles).toContain(t);
    }
    for (const p of panels) {
      expect(p.targets?.length ?? 0, p.title).toBeGreaterThan(0);
      expect(p.description?.length ?? 0, p.title).toBeGreaterThan(20);
      if (p.incidentOnly) expect(p.description, p.title).toMatch(/Only has data/);
    }
    const groups = panels.find((p) => p.title === 'Process groups (stacked)');
    expect(groups?.fieldConfig?.defaults.custom).toMatchObject({ stacking: { mode: 'normal' } });
  });

  it('provisions the Prometheus datasource the panels use and the dashboards folder compose mounts', () => {
    const ds = readFileSync(repo('grafana', 'provisioning', 'datasources', 'prometheus.yml'), 'utf8');
    expect(ds).toMatch(/uid: prometheus/);
    expect(ds).toMatch(/url: http:\/\/127\.0\.0\.1:9090/);
    const prov = readFileSync(repo('grafana', 'provisioning', 'dashboards', 'headroom.yml'), 'utf8');
    expect(prov).toContain('path: /var/lib/grafana/dashboards/headroom');
    expect(readFileSync(repo('docker-compose.yml'), 'utf8')).toContain('./grafana/dashboards:/var/lib/grafana/dashboards/headroom:ro');
  });
});

/**
 * Every query of every panel against a real Prometheus that scrapes two real agents: one on this machine's
 * /proc and /sys, one on the committed fixture trees (a loaded ML host with swap, PSI, cgroup limits and OOM kills,
 * which a CI machine may not have). Panels marked incidentOnly must parse but may be empty.
 */
describe('dashboard queries against a real Prometheus and agents', () => {
  const started: ManagedProcess[] = [];
  let dir = '';
  let prom = '';

  beforeAll(async () => {
    expect(existsSync(AGENT_MAIN), `${AGENT_MAIN} is missing: run npm run build`).toBe(true);
    const prometheus = findOnPath(STACK_BINARIES.prometheus.names, process.env.PATH);
    expect(prometheus, 'prometheus not on PATH: run scripts/install-deps.sh').toBeDefined();
    dir = mkdtempSync(join(tmpdir(), 'headroom-dash-'));
    mkdirSync(join(dir, 'data'));
    const [realPort = 0, fixturePort = 0, promPort = 0, amPort = 0] = await freePorts(4);
    const fixtureConfig = join(dir, 'fixture-agent.yml');
    writeFileSync(
      fixtureConfig,
      `agent:\n  procfs: ${repo('test', 'fixtures', 'proc')}\n  cgroupfs: ${repo('test', 'fixtures', 'cgroup-v2')}\n  passwd: ${repo('test', 'fixtures', 'etc', 'passwd')}\n`,
    );
    const agents: Array<[string, number, string[]]> = [
      ['real-agent', realPort, []],
      ['fixture-agent', fixturePort, ['--config', fixtureConfig]],
    ];
    for (const [name, port, extra] of agents) {
      const p = await startProcess(name, process.execPath, [AGENT_MAIN, 'agent', '--listen', `127.0.0.1:${port}`, ...extra], join(dir, `${name}.log`));
      started.push(p);
      await pollUntil(async () => httpGet(`http://127.0.0.1:${port}/healthz`), { timeoutMs: 20_000, intervalMs: 200, what: name, abort: () => (p.hasExited() ? 'exited' : undefined) });
    }
    const config = renderPrometheusConfig(readFileSync(repo('prometheus', 'prometheus.yml'), 'utf8'), {
      configDir: repo('prometheus'),
      agentTargets: [`127.0.0.1:${realPort}`, `127.0.0.1:${fixturePort}`],
      prometheusTarget: `127.0.0.1:${promPort}`,
      // Nothing listens there: alert delivery is not what this test is about.
      alertmanagerTarget: `127.0.0.1:${amPort}`,
      agentScrapeInterval: '1s',
      evaluationInterval: '1s',
    });
    writeFileSync(join(dir, 'prometheus.yml'), config);
    const p = await startProcess(
      'prometheus',
      prometheus ?? 'prometheus',
      [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${promPort}`],
      join(dir, 'prometheus.log'),
    );
    started.push(p);
    prom = `http://127.0.0.1:${promPort}`;
    await pollUntil(async () => httpGet(`${prom}/-/ready`), { timeoutMs: 30_000, intervalMs: 250, what: 'prometheus', abort: () => (p.hasExited() ? 'exited' : undefined) });
    // Rates and recording rules need a few scrapes of both agents.
    await pollUntil(
      async () => {
        const r = await instantQuery(prom, 'count(headroom:process_cpu:rate5m) by (instance)');
        return r.data.result.length === 2 ? true : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 500, what: 'two agents scraped with rates' },
    );
  }, 120_000);

  afterAll(async () => {
    // Every process this test started, by PID, pass or fail.
    await Promise.allSettled(started.map((p) => p.stop()));
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  const panels: Panel[] = all.flatMap((d) => d.spec.panels).filter((p) => p.type !== 'row');
  const cases = panels.flatMap((p) => (p.targets ?? []).map((t) => [`${p.title} / ${t.refId}`, t.expr, p.incidentOnly === true] as const));

  it.each(cases)('%s: valid PromQL that returns data', async (_name, expr, incidentOnly) => {
    const query = expand(expr);
    if (incidentOnly) {
      const r = await instantQuery(prom, query);
      expect(r.status, r.error).toBe('success');
      return;
    }
    // Bounded wait: a 1m rate or a recording rule may need a few more evaluations.
    const result = await pollUntil(
      async () => {
        const r = await instantQuery(prom, query);
        if (r.status !== 'success') throw new Error(`${query}: ${r.error ?? r.status}`);
        return r.data.result.length > 0 ? r.data.result : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 500, what: query },
    );
    expect(result.length).toBeGreaterThan(0);
  });

  it.each(all.flatMap((d) => d.spec.annotations.map((a) => [a.name, a.expr] as const)))('annotation "%s" is valid PromQL', async (_name, expr) => {
    const r = await instantQuery(prom, expand(expr));
    expect(r.status, r.error).toBe('success');
  });
});
