import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHART_HEIGHT, CHART_WIDTH, niceStep, renderMemoryChart } from '../../src/history/chart.js';
import { chartInput, findVictimTree, growthOnset, historyGrowthSource, incidentGrowth, recentRate, warningGrowth } from '../../src/history/growth.js';
import { ShortHistory, type HostPoint, type SeriesPoint, type TreeView } from '../../src/history/history.js';
import { renderGrowthSection } from '../../src/incidents/growth-render.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const T0 = Date.parse('2026-01-05T10:00:00Z');
const series = (values: number[], stepMs = 15_000, from = T0): SeriesPoint[] => values.map((v, i) => ({ atMs: from + i * stepMs, value: v }));
const hostPoints = (n: number, stepMs: number, used: (i: number) => number, total = 8 * GiB): HostPoint[] =>
  Array.from({ length: n }, (_, i) => ({ atMs: T0 + i * stepMs, totalBytes: total, availableBytes: total - used(i) }));

describe('growthOnset (start of sustained growth)', () => {
  it('is the earliest sample after which the tree never fell back below it (beyond 5 % of the last value)', () => {
    // flat at 500 MiB, a dip to 300 MiB, then steady growth to 2 GiB
    const s = series([500, 520, 300, 310, 600, 1000, 1500, 2048].map((m) => m * MiB));
    const o = growthOnset(s);
    // 300 → 310 MiB is a plateau within the tolerance: growth began at its last sample
    expect(o).toEqual({ atMs: T0 + 3 * 15_000, bytes: 310 * MiB, beforeHistory: false });
  });

  it('tolerates small dips (≤ 5 % of the last value) within the growth', () => {
    const s = series([100, 100, 1000, 960, 1500, 2000].map((m) => m * MiB));
    // 100 MiB is never undercut; the plateau ends at index 1
    expect(growthOnset(s)).toEqual({ atMs: T0 + 15_000, bytes: 100 * MiB, beforeHistory: false });
    // rising from the first sample: growth began at or before the history
    expect(growthOnset(series([100, 500, 900].map((m) => m * MiB)))).toEqual({ atMs: T0, bytes: 100 * MiB, beforeHistory: true });
    // a dip of 40 MiB out of a last value of 2000 MiB is within 5 %: index 2 (1000) is not undercut beyond it
    const s2 = series([3000, 100, 1000, 960, 1500, 2000].map((m) => m * MiB));
    expect(growthOnset(s2)?.atMs).toBe(T0 + 15_000);
  });

  it('is undefined when the tree did not grow by 10 % of its last value, or has one sample', () => {
    expect(growthOnset(series([1000, 1010, 1020, 1030].map((m) => m * MiB)))).toBeUndefined();
    expect(growthOnset(series([2000, 1500, 1000].map((m) => m * MiB)))).toBeUndefined();
    expect(growthOnset(series([1000 * MiB]))).toBeUndefined();
    expect(growthOnset([])).toBeUndefined();
  });

  it('ends the plateau where the rise starts, even when each step is small against the last value', () => {
    // 2 GiB flat for 20 samples, then +1.2 GiB per sample up to ~50 GiB: growth began at the plateau's end
    const s = series(Array.from({ length: 61 }, (_, i) => 2 * GiB + Math.max(0, i - 20) * 1200 * MiB));
    expect(growthOnset(s)).toEqual({ atMs: T0 + 20 * 15_000, bytes: 2 * GiB, beforeHistory: false });
  });
});

describe('recentRate', () => {
  it('is the least-squares slope over the last 5 minutes only', () => {
    // 10 min at 15 s: flat for the first 5 min, then +10 MiB per 15 s
    const values = Array.from({ length: 41 }, (_, i) => (i <= 20 ? 100 * MiB : 100 * MiB + (i - 20) * 10 * MiB));
    const s = series(values);
    const at = T0 + 40 * 15_000;
    const r = recentRate(s, at);
    expect(r?.overSeconds).toBe(300);
    expect(r?.bytesPerSecond).toBeCloseTo((10 * MiB) / 15, 0);
  });

  it('needs two samples at least 10 s apart', () => {
    expect(recentRate(series([1, 2], 5000), T0 + 5000)).toBeUndefined();
    expect(recentRate(series([1]), T0)).toBeUndefined();
    expect(recentRate(series([0, 15 * MiB], 15_000), T0 + 15_000)?.bytesPerSecond).toBeCloseTo(MiB, 3);
  });
});

describe('incidentGrowth', () => {
  it('says there is no history instead of inventing one', () => {
    const g = incidentGrowth({ host: [], criticalMs: T0 + 12_000, actionMs: T0 + 12_000, historyStartMs: T0 });
    expect(g).toEqual({ noHistory: 'no history: the agent started 12 s before the action' });
    expect(renderGrowthSection(g).join('\n')).toContain('no history: the agent started 12 s before the action.');
  });

  it('gives onset, rate, first warning → action and host memory at each moment', () => {
    const tree = { pid: 4242, comm: 'python3', series: series([200, 200, 400, 800, 1200, 1600, 2000].map((m) => m * MiB)) };
    const host = hostPoints(91, 1000, (i) => 2 * GiB + i * 40 * MiB);
    const g = incidentGrowth({ host, tree, firstWarningMs: T0 + 30_000, criticalMs: T0 + 88_000, actionMs: T0 + 90_000 });
    expect(g.began?.at).toBe(new Date(T0 + 15_000).toISOString());
    expect(g.beganBeforeHistory).toBe(false);
    expect(g.rateBytesPerSecond).toBeGreaterThan(20 * MiB);
    expect(g.warningToActionSeconds).toBe(60);
    expect(g.firstWarning?.hostUsedBytes).toBe(2 * GiB + 30 * 40 * MiB);
    expect(g.firstWarning?.treeBytes).toBe(400 * MiB);
    expect(g.action?.hostUsedBytes).toBe(2 * GiB + 90 * 40 * MiB);
    expect(g.action?.treeBytes).toBe(2000 * MiB);
    const md = renderGrowthSection(g, 'x.svg').join('\n');
    expect(md).toContain('## Growth');
    expect(md).toMatch(/\*\*Rate\*\*: \d+(\.\d)? MiB\/s/);
    expect(md).toContain('**First warning → action**: 1 m');
    expect(md).toContain('](x.svg)');
  });

  it('leaves out a host sample that is far from a moment, and a victim not sampled', () => {
    const host = hostPoints(10, 1000, () => GiB);
    const g = incidentGrowth({ host, criticalMs: T0 + 60_000, actionMs: T0 + 60_000 });
    expect(g.action?.hostUsedBytes).toBeUndefined();
    expect(g.treeMissing).toBeDefined();
    expect(g.rateBytesPerSecond).toBeUndefined();
    expect(renderGrowthSection(g).join('\n')).toContain('**Rate**: not known');
  });
});

describe('warningGrowth', () => {
  const host = hostPoints(61, 1000, (i) => 4 * GiB + i * 10 * MiB);
  it('names the fastest-growing tree and the time to exhaustion of available memory at its rate', () => {
    const trees = [
      { pid: 1, comm: 'slow', series: series([100, 101, 102, 103, 104].map((m) => m * MiB)) },
      { pid: 2, comm: 'fast', series: series([100, 400, 700, 1000, 1300].map((m) => m * MiB)) },
    ];
    const w = warningGrowth(host, trees, T0 + 60_000);
    expect(w?.pid).toBe(2);
    expect(w?.bytesPerSecond).toBeCloseTo(20 * MiB, 0);
    expect(w?.includesSwap).toBe(false);
    const available = 8 * GiB - (4 * GiB + 60 * 10 * MiB);
    expect(w?.exhaustionSeconds).toBeCloseTo(available / (20 * MiB), 1);
  });
  it('counts free swap when the host has swap', () => {
    const withSwap = host.map((p) => ({ ...p, swapTotalBytes: 2 * GiB, swapUsedBytes: GiB }));
    const w = warningGrowth(withSwap, [{ pid: 2, comm: 'fast', series: series([0, 300 * MiB]) }], T0 + 60_000);
    expect(w?.includesSwap).toBe(true);
    expect(w?.headroomBytes).toBe(8 * GiB - (4 * GiB + 60 * 10 * MiB) + GiB);
  });
  it('says nothing when no tree grows, the series is too short, or there is no host sample', () => {
    expect(warningGrowth(host, [{ pid: 1, comm: 'flat', series: series([100 * MiB, 100 * MiB, 100 * MiB]) }], T0 + 60_000)).toBeUndefined();
    expect(warningGrowth(host, [{ pid: 1, comm: 'new', series: series([100 * MiB]) }], T0 + 60_000)).toBeUndefined();
    expect(warningGrowth([], [{ pid: 2, comm: 'fast', series: series([0, 300 * MiB]) }], T0 + 60_000)).toBeUndefined();
  });
});

describe('findVictimTree', () => {
  const tree = (pid: number, start: number): TreeView => ({ key: `${pid}/x`, pid, startTimeSeconds: start, comm: 'c', residentBytes: 1, processes: 1, series: [] });
  it('matches the root by pid and start time, else a tree rooted at one of the victim processes', () => {
    const trees = [tree(10, 1000.5), tree(20, 2000.25)];
    expect(findVictimTree(trees, { pid: 10, startTime: '1000.50' })?.pid).toBe(10);
    expect(findVictimTree(trees, { pid: 10, startTime: '1001.50' })).toBeUndefined(); // PID reused
    expect(findVictimTree(trees, { pid: 5, startTime: '1.00', tree: [{ pid: 20, startTime: '2000.25' }] })?.pid).toBe(20);
    // the policy descended into a child of a sampled job tree: the job's series, marked as containing the victim
    const job = findVictimTree(trees, { pid: 6, startTime: '1.00', ancestors: [{ pid: 3, startTime: '3.00' }, { pid: 10, startTime: '1000.50' }] });
    expect(job).toMatchObject({ pid: 10, containing: true });
    const g = incidentGrowth({ host: hostPoints(2, 1000, () => GiB), ...(job ? { tree: job } : {}), criticalMs: T0 + 1000, actionMs: T0 + 1000 });
    expect(g.tree).toEqual({ pid: 10, comm: 'c', samples: 0, containsVictim: true });
    expect(renderGrowthSection(g).join('\n')).toContain('the job tree containing the victim, PID 10');
  });
});

function parseXml(svg: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'growth-svg-'));
  try {
    const file = join(dir, 'c.svg');
    writeFileSync(file, svg);
    // A strict XML parser (Python's expat): throws on anything that is not well-formed.
    return execFileSync('python3', ['-c', 'import sys, xml.etree.ElementTree as E; r = E.parse(sys.argv[1]).getroot(); print(r.tag, r.get("width"), r.get("height"), len(r.findall(".//{http://www.w3.org/2000/svg}path")))', file], { encoding: 'utf8' }).trim();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('renderMemoryChart', () => {
  it('is well-formed SVG of a fixed size with axes in units and UTC time, and escapes every text', () => {
    const host = hostPoints(121, 1000, (i) => 2 * GiB + i * 30 * MiB);
    const tree = { pid: 7, comm: '<script>&"x', series: series([100, 500, 900, 1300, 1700, 2100, 2500, 2900, 3300].map((m) => m * MiB)) };
    const svg = renderMemoryChart(chartInput('gpu-box-1', host, tree, { firstWarningMs: T0 + 30_000, criticalMs: T0 + 100_000, actionMs: T0 + 120_000 }));
    expect(parseXml(svg)).toBe(`{http://www.w3.org/2000/svg}svg ${CHART_WIDTH} ${CHART_HEIGHT} 3`);
    expect(svg).not.toContain('<script>');
    expect(svg).toContain('&lt;script&gt;&amp;&quot;x');
    expect(svg).toContain('memory (GiB)');
    expect(svg).toContain('time (UTC, 2026-01-05)');
    expect(svg).toContain('>10:01:00<');
    expect(svg).toContain('first warning');
  });
  it('draws the host alone when the victim was not sampled, and survives an empty history', () => {
    expect(parseXml(renderMemoryChart(chartInput('h', hostPoints(3, 1000, () => GiB), undefined, { criticalMs: T0, actionMs: T0 + 2000 })))).toMatch(/svg 760 320 2$/);
    expect(parseXml(renderMemoryChart({ title: 'empty', host: [], marks: [] }))).toMatch(/svg 760 320 0$/);
  });
  it('picks 1-2-5 steps', () => {
    expect(niceStep(10, 5)).toBe(2);
    expect(niceStep(7.3, 5)).toBe(2);
    expect(niceStep(62, 5)).toBe(20);
    expect(niceStep(0, 5)).toBe(1);
  });
});

describe('historyGrowthSource', () => {
  it('reads the victim from a ShortHistory fed like the agent feeds it, and writes a chart', () => {
    let now = T0;
    const h = new ShortHistory({ now: () => now, hostIntervalMs: 1000, treeIntervalMs: 5000 });
    for (let i = 0; i <= 60; i++) {
      now = T0 + i * 1000;
      h.recordHost({ totalBytes: 8 * GiB, availableBytes: 6 * GiB - i * 20 * MiB });
      if (i % 5 === 0) h.recordTrees([{ key: '99/1', pid: 99, startTimeSeconds: 1234.5, comm: 'hog', residentBytes: 50 * MiB + i * 20 * MiB, processes: 1 }]);
    }
    const src = historyGrowthSource(h, T0 - 1000, 'box');
    const r = src.incident({ pid: 99, startTime: '1234.50' }, { criticalMs: now, actionMs: now });
    expect(r.growth.tree?.pid).toBe(99);
    expect(r.growth.rateBytesPerSecond).toBeCloseTo(20 * MiB, -3);
    expect(r.chartSvg).toContain('<svg');
    expect(src.warning(now)?.comm).toBe('hog');
    const empty = historyGrowthSource(new ShortHistory({ now: () => now }), now - 3000, 'box').incident(undefined, { criticalMs: now, actionMs: now });
    expect(empty).toEqual({ growth: { noHistory: 'no history: the agent started 3 s before the action' } });
  });
});
