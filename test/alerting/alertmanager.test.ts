import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readYaml, repo, runTool } from './support.js';

interface Route {
  receiver: string;
  group_by?: string[];
  group_wait?: string;
  matchers?: string[];
  routes?: Route[];
}
interface AmConfig {
  route: Route;
  inhibit_rules: Array<{ source_matchers: string[]; target_matchers: string[]; equal: string[] }>;
  receivers: Array<{ name: string; webhook_configs?: Array<{ url: string; send_resolved?: boolean; http_config?: { authorization?: { type?: string; credentials?: string; credentials_file?: string } } }> }>;
}

const CONFIG = 'alerting/alertmanager.yml';
const cfg = readYaml<AmConfig>(CONFIG);

function routeFor(labels: Record<string, string>): string {
  const args = ['config', 'routes', 'test', `--config.file=${CONFIG}`, ...Object.entries(labels).map(([k, v]) => `${k}=${v}`)];
  const r = runTool('amtool', args);
  expect(r.status, r.output).toBe(0);
  return r.stdout.trim();
}

describe('alerting/alertmanager.yml', () => {
  it('amtool check-config accepts it', () => {
    const r = runTool('amtool', ['check-config', CONFIG]);
    expect(r.status, r.output).toBe(0);
    expect(r.output).toContain('SUCCESS');
    expect(r.output).toContain('2 receivers');
  });

  it('routes critical alerts to the remediation endpoint and warnings to notify-only (amtool config routes test)', () => {
    expect(routeFor({ alertname: 'HeadroomHostMemoryHigh', severity: 'critical', instance: 'h:9632' })).toBe('headroom-remediate');
    expect(routeFor({ alertname: 'HeadroomProcessMemoryCritical', severity: 'critical', pid: '1' })).toBe('headroom-remediate');
    expect(routeFor({ alertname: 'HeadroomHostMemoryHigh', severity: 'warning', instance: 'h:9632' })).toBe('headroom-notify');
    expect(routeFor({ alertname: 'Other' })).toBe('headroom-notify');
    const byName = new Map(cfg.receivers.map((r) => [r.name, r]));
    expect(byName.get('headroom-remediate')?.webhook_configs?.[0]?.url).toMatch(/\/alerts\/remediate$/);
    expect(byName.get('headroom-notify')?.webhook_configs?.[0]?.url).toMatch(/\/alerts\/notify$/);
  });

  it('groups by alert and instance, acts on criticals without waiting', () => {
    expect(cfg.route.group_by).toEqual(expect.arrayContaining(['alertname', 'instance']));
    const critical = cfg.route.routes?.find((r) => r.receiver === 'headroom-remediate');
    expect(critical?.matchers).toEqual(['severity="critical"']);
    expect(critical?.group_wait).toBe('0s');
  });

  it('inhibits the warning while the critical of the same alert and instance fires', () => {
    const rule = cfg.inhibit_rules.find((r) => r.source_matchers.includes('severity="critical"') && r.target_matchers.includes('severity="warning"'));
    expect(rule?.equal).toEqual(expect.arrayContaining(['alertname', 'instance']));
  });

  it('sends resolved notifications and reads the bearer token from a file, never inline', () => {
    const hooks = cfg.receivers.flatMap((r) => r.webhook_configs ?? []);
    expect(hooks.length).toBeGreaterThanOrEqual(2);
    for (const h of hooks) {
      expect(h.send_resolved).toBe(true);
      expect(h.http_config?.authorization?.type).toBe('Bearer');
      expect(h.http_config?.authorization?.credentials_file).toMatch(/^\//);
      expect(h.http_config?.authorization?.credentials).toBeUndefined();
    }
    const text = readFileSync(repo(CONFIG), 'utf8');
    expect(text).not.toMatch(/^\s*(bearer_token|credentials|password):/m);
    // The example e-mail receiver is there, commented.
    expect(text).toMatch(/^\s*# email_configs:/m);
  });
});
