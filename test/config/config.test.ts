import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, loadConfigWithOverrides, parseConfigText } from '../../src/config/load.js';
import { formatBytes, formatDuration, parseDuration, parseSize, parseSizeOrPercent } from '../../src/config/units.js';
import { configProblems } from '../support/config-problems.js';

const problems = configProblems;

describe('units', () => {
  it('parses sizes in powers of 1024', () => {
    expect(parseSize('512M')).toEqual({ ok: true, value: 512 * 1024 ** 2 });
    expect(parseSize('50G')).toEqual({ ok: true, value: 50 * 1024 ** 3 });
    expect(parseSize('1.5GiB')).toEqual({ ok: true, value: 1.5 * 1024 ** 3 });
    expect(parseSize('4096')).toEqual({ ok: true, value: 4096 });
  });
  it('rejects bad sizes with the reason', () => {
    expect(parseSize('50GG')).toMatchObject({ ok: false, error: expect.stringMatching(/unknown unit "GG"/) as unknown });
    expect(parseSize('0')).toMatchObject({ ok: false, error: expect.stringMatching(/greater than zero/) as unknown });
    expect(parseSize('-5M').ok).toBe(false);
    expect(parseSize('').ok).toBe(false);
  });
  it('parses percentages of MemTotal', () => {
    expect(parseSizeOrPercent('80%')).toEqual({ ok: true, value: { kind: 'percent', ratio: 0.8 } });
    expect(parseSizeOrPercent('150%').ok).toBe(false);
    expect(parseSizeOrPercent('0%').ok).toBe(false);
  });
  it('parses durations', () => {
    expect(parseDuration('90s')).toEqual({ ok: true, value: 90_000 });
    expect(parseDuration('1h30m')).toEqual({ ok: true, value: 5_400_000 });
    expect(parseDuration('250ms')).toEqual({ ok: true, value: 250 });
    expect(parseDuration('2')).toEqual({ ok: true, value: 2000 });
    expect(parseDuration('-1').ok).toBe(false);
    expect(parseDuration('1x').ok).toBe(false);
    expect(parseDuration('1h 30m').ok).toBe(false);
  });
  it('formats for people', () => {
    expect(formatBytes(870 * 1024 ** 2)).toBe('870 MiB');
    expect(formatBytes(61 * 1024 ** 3)).toBe('61.0 GiB');
    expect(formatDuration((3 * 3600 + 12 * 60) * 1000)).toBe('3 h 12 m');
    expect(formatDuration(45_000)).toBe('45 s');
  });
});

describe('config file', () => {
  it('works with no file at all', () => {
    const c = loadConfig(undefined);
    expect(c.agent.listen).toBe('127.0.0.1:9632');
    expect(c.collectors.top_processes.top_k).toBe(10);
    expect(c.collectors.top_processes.floor).toEqual({ kind: 'percent', ratio: 0.05 });
    expect(c.thresholds.host_memory_critical).toBe(0.95);
  });
  it('accepts an empty file and a full valid one', () => {
    expect(parseConfigText('', 'empty.yml').agent.procfs).toBe('/proc');
    const c = parseConfigText(
      ['agent:', '  listen: 0.0.0.0:9700', 'collectors:', '  top_processes:', '    floor: 2G', '    max_series: 20', 'thresholds:', '  host_memory_warning: 75%'].join('\n'),
      'ok.yml',
    );
    expect(c.agent.listen).toBe('0.0.0.0:9700');
    expect(c.collectors.top_processes.floor).toEqual({ kind: 'bytes', bytes: 2 * 1024 ** 3 });
    expect(c.thresholds.host_memory_warning).toBe(0.75);
  });
  it('names the key, the bad value and what is allowed', () => {
    const p = problems(() =>
      parseConfigText(['collectors:', '  top_processes:', '    top_k: -1', '    floor: 50GG', '    max_series: 0'].join('\n'), 'bad.yml'),
    );
    expect(p).toContain('collectors.top_processes.top_k: got -1; must be a whole number ≥ 1');
    expect(p.find((l) => l.startsWith('collectors.top_processes.floor: got "50GG"'))).toMatch(/percentage of MemTotal/);
    expect(p).toContain('collectors.top_processes.max_series: got 0; must be a whole number ≥ 1');
  });
  it('rejects unknown keys and lists the allowed ones', () => {
    const p = problems(() => parseConfigText('agent:\n  lisen: 1.2.3.4:1\n', 'typo.yml'));
    expect(p).toEqual(['agent.lisen: unknown key "lisen"; allowed keys here: listen, procfs, cgroupfs, passwd']);
    expect(problems(() => parseConfigText('agnet: {}\n', 'typo.yml'))[0]).toMatch(/^agnet: unknown key "agnet"; allowed keys here: agent, collectors, thresholds/);
  });
  it('rejects bad listen addresses, thresholds and YAML', () => {
    expect(problems(() => parseConfigText('agent:\n  listen: 9632\n', 'x.yml'))[0]).toMatch(/agent.listen: got 9632; .*HOST:PORT/);
    expect(problems(() => parseConfigText('thresholds:\n  host_memory_critical: 1.5\n', 'x.yml'))[0]).toMatch(/ratio above 0 and at most 1/);
    expect(problems(() => parseConfigText('agent: [unclosed\n', 'x.yml'))[0]).toMatch(/not valid YAML/);
    expect(problems(() => parseConfigText('- a list\n', 'x.yml'))[0]).toMatch(/\(top level\)/);
  });
  it('rejects a "recovered" line at or above the line critical alerts fire at, naming both keys', () => {
    const p = problems(() => parseConfigText('thresholds:\n  host_memory_critical: 0.85\n  process_tree_critical: 0.4\n', 'x.yml'));
    expect(p).toContain(
      'remediation.recovered.host_used_below: is 0.9, but must be below thresholds.host_memory_critical (0.85), or every critical alert would be refused as "recovered"; lower it or raise thresholds.host_memory_critical',
    );
    expect(p.some((l) => l.startsWith('remediation.recovered.process_tree_share_below: is 0.5, but must be below thresholds.process_tree_critical (0.4)'))).toBe(true);
    expect(problems(() => parseConfigText('guard:\n  enabled: true\n  available_below: 0.2\n', 'x.yml'))[0]).toMatch(/host_used_below: is 0.9, but must be below 1 − guard.available_below \(0.8\)/);
    expect(parseConfigText('thresholds:\n  host_memory_critical: 0.85\nremediation:\n  recovered:\n    host_used_below: 0.8\n', 'ok.yml').thresholds.host_memory_critical).toBe(0.85);
  });
  it('reports an unreadable file clearly', () => {
    expect(problems(() => loadConfig('/nonexistent/headroom.yml'))[0]).toMatch(/cannot read the file .*--config/);
  });
  it('applies command-line overrides through the same validation', () => {
    const dir = mkdtempSync(join(tmpdir(), 'headroom-config-'));
    const file = join(dir, 'c.yml');
    writeFileSync(file, 'agent:\n  listen: 127.0.0.1:9700\n  procfs: /proc\n');
    expect(loadConfigWithOverrides(file, { agent: { listen: '127.0.0.1:9800', procfs: undefined } }).agent).toMatchObject({ listen: '127.0.0.1:9800', procfs: '/proc' });
    expect(problems(() => loadConfigWithOverrides(file, { agent: { listen: 'nope' } }))[0]).toMatch(/agent.listen: got "nope"/);
  });
});
