import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { readYaml, repo, runTool } from './support.js';

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleFile {
  groups: Array<{ name: string; rules: Rule[] }>;
}
interface AlertTest {
  eval_time: string;
  alertname: string;
  exp_alerts: Array<{ exp_labels?: Record<string, string>; exp_annotations?: Record<string, string> }>;
}
interface TestFile {
  rule_files: string[];
  tests: Array<{ alert_rule_test?: AlertTest[] }>;
}

const ruleFiles = readdirSync(repo('prometheus', 'rules')).filter((f) => f.endsWith('.yml')).map((f) => `prometheus/rules/${f}`);
const testFiles = readdirSync(repo('prometheus', 'tests')).filter((f) => f.endsWith('.yml')).map((f) => `prometheus/tests/${f}`);
const rules = ruleFiles.flatMap((f) => readYaml<RuleFile>(f).groups.flatMap((g) => g.rules));
const alerts = rules.filter((r): r is Rule & { alert: string } => r.alert !== undefined);
const alertNames = [...new Set(alerts.map((a) => a.alert))];
const alertTests = testFiles.flatMap((f) => readYaml<TestFile>(f).tests.flatMap((t) => t.alert_rule_test ?? []));

describe('Prometheus config and rules (promtool)', () => {
  it('promtool check config accepts prometheus/prometheus.yml and finds the rule files', () => {
    const r = runTool('promtool', ['check', 'config', 'prometheus/prometheus.yml']);
    expect(r.status, r.output).toBe(0);
    expect(r.output).toContain(`SUCCESS: ${ruleFiles.length} rule files found`);
  });

  it('promtool check rules accepts every rule file', () => {
    const r = runTool('promtool', ['check', 'rules', ...ruleFiles]);
    expect(r.status, r.output).toBe(0);
    expect(r.output.match(/SUCCESS: \d+ rules found/g)).toHaveLength(ruleFiles.length);
  });

  it('promtool test rules passes every test file', () => {
    const r = runTool('promtool', ['test', 'rules', ...testFiles], { timeoutMs: 120_000 });
    expect(r.status, r.output).toBe(0);
    expect(r.output).not.toContain('FAILED');
    expect(r.output.match(/SUCCESS/g)).toHaveLength(testFiles.length);
  });

  it('the unit tests have teeth: a critical `for:` lengthened to 1m makes them fail', () => {
    const dir = mkdtempSync(join(tmpdir(), 'headroom-rules-'));
    try {
      cpSync(repo('prometheus'), join(dir, 'prometheus'), { recursive: true });
      const path = join(dir, 'prometheus', 'rules', 'headroom-alerts.yml');
      const text = readFileSync(path, 'utf8');
      const mutated = text.replace(/(threshold="host_memory_critical"\}\n\s+for: )10s/, '$11m');
      expect(mutated).not.toBe(text);
      writeFileSync(path, mutated);
      const r = runTool('promtool', ['test', 'rules', 'prometheus/tests/host-memory.yml'], { cwd: dir });
      expect(r.status).not.toBe(0);
      expect(r.output).toContain('FAILED');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('alert definitions', () => {
  it('has the alerts the issue asks for', () => {
    expect(alertNames.sort()).toEqual(
      [
        'HeadroomAgentDown',
        'HeadroomCgroupMemoryHigh',
        'HeadroomCgroupOOMKill',
        'HeadroomCollectorFailing',
        'HeadroomHostMemoryHigh',
        'HeadroomMemoryExhaustionPredicted',
        'HeadroomMemoryPressure',
        'HeadroomOOMKill',
        'HeadroomProcessLongRunning',
        'HeadroomProcessMemoryCritical',
        'HeadroomSwapUsage',
        'HeadroomThresholdsMissing',
        'HeadroomTmpfsMemoryHigh',
      ].sort(),
    );
  });

  it.each(alerts.map((a) => [`${a.alert} (${a.labels?.severity ?? '?'})`, a] as const))('%s has a severity, a summary, a description and a runbook', (_name, a) => {
    expect(['warning', 'critical']).toContain(a.labels?.severity);
    expect(a.annotations?.summary?.length ?? 0).toBeGreaterThan(10);
    expect(a.annotations?.description?.length ?? 0).toBeGreaterThan(40);
    expect(a.annotations?.runbook_url).toBe(`docs/runbooks/${a.alert}.md`);
    const runbook = repo('docs', 'runbooks', `${a.alert}.md`);
    expect(existsSync(runbook), `${runbook} is missing`).toBe(true);
    const text = readFileSync(runbook, 'utf8');
    for (const heading of ['## What it means', '## How to confirm', '## What to do', '## How headroom remediates']) expect(text, `${a.alert}: ${heading}`).toContain(heading);
  });

  it('compares against thresholds the agent actually exports (no literal 0.8 / 0.95 in the alerts)', () => {
    const config = parseConfig({}, 'defaults');
    const { long_running_seconds: _seconds, ...ratios } = config.thresholds;
    const exported = new Set([...Object.keys(ratios), 'long_running']);
    const used = new Set(alerts.flatMap((a) => [...a.expr.matchAll(/threshold="([a-z_]+)"/g)].map((m) => m[1] ?? '')));
    expect(used.size).toBeGreaterThan(8);
    for (const name of used) expect(exported, `threshold "${name}" is not exported by the agent`).toContain(name);
    for (const a of alerts) expect(a.expr, a.alert).not.toMatch(/>=?\s*0\.(8|95)\b/);
  });

  it.each(alertNames)('%s has a unit test that fires it and one that does not', (name) => {
    const mine = alertTests.filter((t) => t.alertname === name);
    expect(mine.some((t) => t.exp_alerts.length > 0), `${name}: no test where it fires`).toBe(true);
    expect(mine.some((t) => t.exp_alerts.length === 0), `${name}: no test where it does not fire`).toBe(true);
    const severities = new Set(alerts.filter((a) => a.alert === name).map((a) => a.labels?.severity));
    const tested = new Set(mine.flatMap((t) => t.exp_alerts.map((e) => e.exp_labels?.severity)));
    for (const s of severities) expect(tested, `${name}: severity ${s ?? '?'} never fires in a test`).toContain(s);
    const annotations = new Set(alerts.filter((a) => a.alert === name).flatMap((a) => Object.keys(a.annotations ?? {})));
    for (const t of mine) for (const e of t.exp_alerts) expect(new Set(Object.keys(e.exp_annotations ?? {}))).toEqual(annotations);
  });
});

