import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig, parseConfigText } from '../../src/config/load.js';
import { runCli } from '../support/cli.js';
import { configProblems } from '../support/config-problems.js';

const problems = configProblems;

/** zod's own wording, which names neither the key nor what is allowed in the file's terms. */
const ZOD_DEFAULT = /Invalid input|Invalid option|Invalid string|Invalid element|Too small|Too big|expected \w+, received|expected one of/;

describe('config contradictions', () => {
  it('refuses a warning line at or above its critical line (host memory, swap, cgroup), naming both keys and values', () => {
    expect(problems(() => parseConfigText('thresholds:\n  host_memory_warning: 0.96\n', 'x.yml'))).toContain(
      'thresholds.host_memory_warning: is 0.96, but must be below thresholds.host_memory_critical (0.95): the warning must come before the critical alert; lower it or raise thresholds.host_memory_critical',
    );
    expect(problems(() => parseConfigText('thresholds:\n  host_memory_warning: 0.9\n  host_memory_critical: 0.9\n', 'x.yml')).some((p) => p.startsWith('thresholds.host_memory_warning: is 0.9, but must be below thresholds.host_memory_critical (0.9)'))).toBe(true);
    expect(problems(() => parseConfigText('thresholds:\n  swap_warning: 0.9\n  swap_critical: 0.5\n', 'x.yml'))).toEqual([
      'thresholds.swap_warning: is 0.9, but must be below thresholds.swap_critical (0.5): the warning must come before the critical alert; lower it or raise thresholds.swap_critical',
    ]);
    expect(problems(() => parseConfigText('thresholds:\n  cgroup_warning: 96%\n', 'x.yml'))[0]).toMatch(/^thresholds\.cgroup_warning: is 0\.96, but must be below thresholds\.cgroup_critical \(0\.95\)/);
    // Consistent values still pass.
    expect(parseConfigText('thresholds:\n  swap_warning: 0.3\n  swap_critical: 0.4\n', 'ok.yml').thresholds.swap_critical).toBe(0.4);
  });

  it('refuses guard.min_interval above guard.max_interval (the guard would poll slowest near the line)', () => {
    expect(problems(() => parseConfigText('guard:\n  min_interval: 2s\n', 'x.yml'))).toEqual([
      'guard.min_interval: is 2s, but must not exceed guard.max_interval (1s): the guard polls every min_interval near the line and every max_interval far from it; lower it or raise guard.max_interval',
    ]);
    expect(problems(() => parseConfigText('guard:\n  min_interval: 500ms\n  max_interval: 200ms\n', 'x.yml'))[0]).toMatch(/^guard\.min_interval: is 500ms, but must not exceed guard\.max_interval \(200ms\)/);
    expect(parseConfigText('guard:\n  min_interval: 1s\n  max_interval: 1s\n', 'ok.yml').guard.min_interval).toBe(1000);
  });
});

/** Every leaf of the effective default config (plus a notify section), with a value of the wrong type for it. */
function leaves(node: unknown, path: string[] = []): Array<{ path: string[]; value: unknown }> {
  // Sizes and percentages come out as {kind, bytes|ratio}: one key in the file.
  if (node !== null && typeof node === 'object' && 'kind' in node) return [{ path, value: 0 }];
  if (node !== null && typeof node === 'object' && !Array.isArray(node)) {
    const entries = Object.entries(node as Record<string, unknown>);
    if (entries.length > 0) return entries.flatMap(([k, v]) => leaves(v, [...path, k]));
  }
  return [{ path, value: node }];
}

function wrongValueFor(value: unknown): unknown {
  if (typeof value === 'boolean') return 'yes';
  if (typeof value === 'number') return true;
  if (typeof value === 'string') return ['not', 'a', 'string'];
  if (Array.isArray(value)) return 'not a list';
  return 42;
}

function setAt(doc: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = doc;
  for (const key of path.slice(0, -1)) {
    node[key] ??= {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1] as string] = value;
}

describe('config errors in the file’s terms', () => {
  const base = { notify: { slack: { webhook_url_file: '/etc/headroom/slack-webhook-url' } } };
  const effective = parseConfig(base, 'base');
  const cases = leaves(effective).filter((l) => l.path.length > 0);

  it(`every key given a value of the wrong type (${cases.length} keys) gets: the key, the bad value, what is allowed — never zod's wording`, () => {
    expect(cases.length).toBeGreaterThan(60);
    const leaks: string[] = [];
    for (const c of cases) {
      const doc = structuredClone(base) as Record<string, unknown>;
      const bad = wrongValueFor(c.value);
      setAt(doc, c.path, bad);
      let lines: string[];
      try {
        lines = problems(() => parseConfig(doc, 'x.yml'));
      } catch (error) {
        leaks.push(`${c.path.join('.')} = ${JSON.stringify(bad)}: accepted (${String(error)})`);
        continue;
      }
      const key = c.path.join('.');
      const line = lines.find((l) => l.startsWith(`${key}: `)) ?? lines.find((l) => l.startsWith(key));
      if (line === undefined) leaks.push(`${key} = ${JSON.stringify(bad)}: no line names the key: ${JSON.stringify(lines)}`);
      else if (ZOD_DEFAULT.test(line)) leaks.push(`${key}: zod wording: ${line}`);
      else if (!line.includes(`got ${JSON.stringify(bad)}`)) leaks.push(`${key}: bad value not shown: ${line}`);
      else if (!/must|allowed/.test(line)) leaks.push(`${key}: does not say what is allowed: ${line}`);
    }
    expect(leaks).toEqual([]);
  });

  it('names what is allowed for out-of-range numbers, empty strings and bad choices', () => {
    const p = problems(() =>
      parseConfigText(
        ['receiver:', '  enabled: "true"', '  host: ""', 'remediation:', '  protect_sshd:', '    oom_score_adj: 5', '  actions:', '    host: explode', 'collectors:', '  disabled: [nope]'].join('\n'),
        'x.yml',
      ),
    );
    expect(p).toContain('receiver.enabled: got "true"; must be true or false');
    expect(p).toContain('receiver.host: got ""; must not be empty');
    expect(p).toContain('remediation.protect_sshd.oom_score_adj: got 5; must be at most 0');
    expect(p.find((l) => l.startsWith('remediation.actions.host: got "explode"; must be one of '))).toBeDefined();
    expect(p.find((l) => l.startsWith('collectors.disabled[0]: got "nope"; must be one of host_memory'))).toBeDefined();
    for (const l of p) expect(l).not.toMatch(ZOD_DEFAULT);
  });
});

describe('headroom config check FILE', () => {
  const dir = mkdtempSync(join(tmpdir(), 'headroom-config-rules-'));

  it('says a missing FILE does not exist (not "--config", which config check does not take)', () => {
    const missing = join(dir, 'nope.yml');
    const r = runCli(['config', 'check', missing]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${missing}: invalid configuration`);
    expect(r.stderr).toMatch(/the file does not exist/);
    expect(r.stderr).not.toMatch(/--config/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('exits 2 on each contradiction', () => {
    for (const [name, text, key] of [
      ['host.yml', 'thresholds:\n  host_memory_warning: 0.97\n', 'thresholds.host_memory_warning'],
      ['swap.yml', 'thresholds:\n  swap_warning: 0.95\n', 'thresholds.swap_warning'],
      ['guard.yml', 'guard:\n  min_interval: 5s\n  max_interval: 2s\n', 'guard.min_interval'],
    ] as const) {
      const file = join(dir, name);
      writeFileSync(file, text);
      const r = runCli(['config', 'check', file]);
      expect(r.code, `${name}: ${r.stdout}${r.stderr}`).toBe(2);
      expect(r.stderr).toContain(`${key}: is `);
    }
  });
});
