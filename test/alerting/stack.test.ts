import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../../src/stack/process.js';
import { AGENT_MAIN, alive, freePorts, promApi, repo } from './support.js';

/**
 * `headroom stack` end to end: the real CLI starts the real agent, Prometheus and Alertmanager on free loopback
 * ports with everything under a temporary state directory; SIGINT stops all three. The agent runs with host
 * memory thresholds of 0.1 % / 0.2 % so the alerts fire on any machine: that also proves the thresholds travel
 * from the agent's config through /metrics into the rules.
 */
describe('headroom stack (real agent, Prometheus and Alertmanager)', () => {
  let stateDir = '';
  let child: ChildProcess | undefined;
  let stdout = '';
  let ports: { agent: number; prometheus: number; alertmanager: number } = { agent: 0, prometheus: 0, alertmanager: 0 };
  const childPids = (): number[] => [...stdout.matchAll(/started \w+ \(pid (\d+)\)/g)].map((m) => Number(m[1]));
  const prom = (): string => `http://127.0.0.1:${ports.prometheus}`;
  const am = (): string => `http://127.0.0.1:${ports.alertmanager}`;

  beforeAll(async () => {
    expect(existsSync(AGENT_MAIN), `${AGENT_MAIN} is missing: run npm run build`).toBe(true);
    const [agent = 0, prometheus = 0, alertmanager = 0] = await freePorts(3);
    ports = { agent, prometheus, alertmanager };
    stateDir = mkdtempSync(join(tmpdir(), 'headroom-stack-'));
    const config = join(stateDir, 'agent.yml');
    writeFileSync(config, 'thresholds:\n  host_memory_warning: 0.001\n  host_memory_critical: 0.002\nremediation:\n  recovered:\n    host_used_below: 0.0015\n');
    const c = spawn(
      process.execPath,
      [AGENT_MAIN, 'stack', '--state-dir', join(stateDir, 'state'), '--config', config, '--no-install', '--agent-port', String(agent), '--prometheus-port', String(prometheus), '--alertmanager-port', String(alertmanager)],
      { cwd: repo(), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = c;
    c.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    c.stderr?.on('data', (d: Buffer) => (stdout += d.toString()));
    await pollUntil(async () => Promise.resolve(stdout.includes('headroom stack is up') ? true : undefined), {
      timeoutMs: 60_000,
      intervalMs: 200,
      what: 'headroom stack start-up',
      abort: () => (c.exitCode !== null ? `exited with ${c.exitCode}: ${stdout}` : undefined),
    });
  }, 90_000);

  afterAll(() => {
    // Stop everything this test started, by PID, whatever happened.
    if (child?.pid !== undefined && child.exitCode === null && alive(child.pid)) child.kill('SIGKILL');
    for (const pid of childPids()) if (alive(pid)) process.kill(pid, 'SIGKILL');
    if (stateDir !== '') rmSync(stateDir, { recursive: true, force: true });
  });

  it('prints the URLs of the three processes', () => {
    expect(stdout).toContain(`agent         http://127.0.0.1:${ports.agent}/metrics`);
    expect(stdout).toContain(`prometheus    http://127.0.0.1:${ports.prometheus}`);
    expect(stdout).toContain(`alertmanager  http://127.0.0.1:${ports.alertmanager}`);
    expect(childPids()).toHaveLength(3);
  });

  it('Prometheus shows the agent target up', async () => {
    interface Target {
      labels: Record<string, string>;
      health: string;
    }
    const target = await pollUntil(
      async () => {
        const r = await promApi<{ activeTargets: Target[] }>(prom(), '/api/v1/targets');
        return r.data.activeTargets.find((t) => t.labels.job === 'headroom' && t.health === 'up');
      },
      { timeoutMs: 30_000, intervalMs: 500, what: 'headroom target up' },
    );
    expect(target.labels.instance).toBe(`127.0.0.1:${ports.agent}`);
  });

  it('Prometheus has loaded every rule group', async () => {
    interface Group {
      name: string;
      rules: Array<{ type: string; health: string }>;
    }
    const r = await promApi<{ groups: Group[] }>(prom(), '/api/v1/rules');
    expect(r.status).toBe('success');
    expect(r.data.groups.map((g) => g.name).sort()).toEqual(['headroom-agent', 'headroom-cgroups', 'headroom-host', 'headroom-processes', 'headroom-recording']);
    const all = r.data.groups.flatMap((g) => g.rules);
    expect(all.filter((x) => x.type === 'alerting')).toHaveLength(16);
    expect(all.filter((x) => x.type === 'recording')).toHaveLength(11);
  });

  it('Alertmanager answers with the stack config: webhooks at this agent, token from the state directory', async () => {
    const res = await fetch(`${am()}/api/v2/status`, { signal: AbortSignal.timeout(5_000) });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { config: { original: string } };
    expect(body.config.original).toContain(`http://127.0.0.1:${ports.agent}/alerts/remediate`);
    expect(body.config.original).toContain(`credentials_file: ${join(stateDir, 'state', 'receiver-token')}`);
  });

  it(
    'a threshold from the agent config fires the critical alert in Alertmanager, and the warning is inhibited',
    async () => {
      interface AmAlert {
        labels: Record<string, string>;
        status: { state: string; inhibitedBy: string[] };
        annotations: Record<string, string>;
      }
      const find = async (severity: string): Promise<AmAlert | undefined> => {
        const res = await fetch(`${am()}/api/v2/alerts?filter=${encodeURIComponent('alertname="HeadroomHostMemoryHigh"')}`, { signal: AbortSignal.timeout(5_000) });
        const alerts = (await res.json()) as AmAlert[];
        return alerts.find((a) => a.labels.severity === severity);
      };
      const critical = await pollUntil(() => find('critical'), { timeoutMs: 60_000, intervalMs: 1_000, what: 'critical HeadroomHostMemoryHigh in Alertmanager' });
      expect(critical.labels.instance).toBe(`127.0.0.1:${ports.agent}`);
      expect(critical.status.state).toBe('active');
      expect(critical.annotations.description).toMatch(/^\d+(\.\d+)?% used, [\d.]+[KMGT]iB available of [\d.]+[KMGT]iB on 127\.0\.0\.1:\d+ \(critical at 0\.2%\)/);
      // The warning needs `for: 1m`; once it arrives it is suppressed by the critical of the same instance.
      const warning = await pollUntil(() => find('warning'), { timeoutMs: 100_000, intervalMs: 2_000, what: 'warning HeadroomHostMemoryHigh in Alertmanager' });
      expect(warning.status.state).toBe('suppressed');
      expect(warning.status.inhibitedBy.length).toBeGreaterThan(0);
    },
    180_000,
  );

  it('SIGINT stops all three processes and the stack exits 0', async () => {
    const c = child;
    expect(c?.pid).toBeDefined();
    if (c === undefined) return;
    const pids = childPids();
    const exited = new Promise<number | null>((resolve) => c.once('exit', (code) => resolve(code)));
    c.kill('SIGINT');
    const code = await Promise.race([exited, new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 30_000))]);
    expect(code).toBe(0);
    expect(stdout).toContain('SIGINT: stopping');
    expect(stdout).toMatch(/stopped\n$/);
    for (const pid of pids) expect(alive(pid), `pid ${pid} still running`).toBe(false);
  }, 40_000);
});
