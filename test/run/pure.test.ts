import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { downsample, renderMemoryChartSvg, sparkline } from '../../src/run/chart.js';
import { cgroupLeaf, checkJobName, defaultJobName, resolveLimits, runIdFrom } from '../../src/run/options.js';
import { preflight } from '../../src/run/preflight.js';
import { computeStats, decideOutcome, renderSummary, RUN_EXIT, type TimedSample } from '../../src/run/report.js';
import { chartPathFor } from '../../src/run/run.js';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

describe('run config section and limits', () => {
  it('defaults: 80% of MemTotal, no swap, 10 s grace, 1 s samples, auto backend', () => {
    const run = parseConfig({}, 'test').run;
    expect(run).toMatchObject({ memory_max: { kind: 'percent', ratio: 0.8 }, swap_max: 0, kill_grace: 10_000, sample_interval: 1000, backend: 'auto' });
    const r = resolveLimits(run, 62 * GiB, true);
    expect(r).toEqual({ ok: true, notes: [], limits: { memoryMaxBytes: Math.round(0.8 * 62 * GiB), memoryHighBytes: undefined, swapMaxBytes: 0, cpuQuota: undefined } });
  });

  it('reads a team run: section (sizes, percentages, durations, CPU percent)', () => {
    const run = parseConfig({ run: { memory_max: '50G', memory_high: '45%', swap_max: '1G', cpu_quota: '250%', timeout: '3h', require_available: '20G', wait_available: '10m' } }, 't').run;
    expect(run).toMatchObject({ swap_max: GiB, cpu_quota: 2.5, timeout: 3 * 3600_000, require_available: 20 * GiB, wait_available: 600_000 });
    const r = resolveLimits(run, 100 * GiB, true);
    expect(r.ok && r.limits).toEqual({ memoryMaxBytes: 50 * GiB, memoryHighBytes: 45 * GiB, swapMaxBytes: GiB, cpuQuota: 2.5 });
  });

  it('resolves a percentage high and rejects high >= max and a tiny max', () => {
    const bad = resolveLimits(parseConfig({ run: { memory_max: '50G', memory_high: '60G' } }, 't').run, 100 * GiB, true);
    expect(bad).toEqual({ ok: false, problems: ['--memory-high 60.0 GiB must be below --memory-max 50.0 GiB; lower it or raise --memory-max'] });
    const tiny = resolveLimits(parseConfig({ run: { memory_max: '1K' } }, 't').run, 100 * GiB, true);
    expect(tiny.ok).toBe(false);
  });

  it('rejects bad values with the key, the value and what is allowed', () => {
    for (const [key, value, msg] of [
      ['memory_max', '0', /must be a size/],
      ['memory_max', '50GG', /must be a size/],
      ['timeout', '-1', /must be a duration/],
      ['cpu_quota', '0%', /at least 1%/],
      ['swap_max', '-5', /not a size/],
    ] as const) {
      expect(() => parseConfig({ run: { [key]: value } }, 'f.yaml')).toThrow(msg);
    }
    expect(() => parseConfig({ run: { memorymax: '1G' } }, 'f.yaml')).toThrow(/unknown key "memorymax"; allowed keys here: memory_max/);
  });

  it('--no-limits means no limits at all, with a note', () => {
    const r = resolveLimits(parseConfig({}, 't').run, GiB, false);
    expect(r).toEqual({ ok: true, limits: {}, notes: [expect.stringMatching(/limits are off/)] });
  });

  it('names jobs after the script and checks --name', () => {
    expect(defaultJobName(['python3', 'pipelines/training/parallel_feature_testing.py', 'single'])).toBe('parallel_feature_testing.py');
    expect(defaultJobName(['python3', '-u', 'train.py'])).toBe('train.py');
    expect(defaultJobName(['python3', '-m', 'pkg.train'])).toBe('pkg.train');
    expect(defaultJobName(['sh', '-c', 'echo hi; exit 3'])).toBe('sh');
    expect(defaultJobName(['/opt/bin/my tool!'])).toBe('my_tool_');
    expect(checkJobName('train-1.v2')).toBeUndefined();
    expect(checkJobName('a/b')).toMatch(/not a valid job name/);
    expect(checkJobName('-x')).toMatch(/not a valid job name/);
    expect(cgroupLeaf('train', 'k3x9z2')).toBe('train-k3x9z2');
    expect(runIdFrom(Uint8Array.from([0, 1, 25, 26, 35, 36]))).toBe('abz09a');
    expect(chartPathFor('/tmp/run.jsonl')).toBe('/tmp/run.svg');
    expect(chartPathFor('/tmp/run.log')).toBe('/tmp/run.log.svg');
  });
});

describe('preflight', () => {
  function clock() {
    let now = 0;
    return { monotonicMs: () => now, sleep: (ms: number) => { now += ms; return Promise.resolve(); } };
  }

  it('passes when MemAvailable suffices, refuses at once above MemTotal even with a wait', async () => {
    const c = clock();
    const base = { memTotalBytes: 62 * GiB, available: () => 30 * GiB, progress: () => undefined, cancelled: () => false, ...c };
    expect(await preflight({ ...base, requireBytes: 20 * GiB, waitMs: undefined })).toEqual({ ok: true, availableBytes: 30 * GiB, waitedMs: 0 });
    const r = await preflight({ ...base, requireBytes: 100 * GiB, waitMs: 600_000 });
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toMatch(/needs 100 GiB available but this machine has only 62\.0 GiB in total/);
    expect(!r.ok && r.cancelled).toBe(false);
    expect(c.monotonicMs()).toBe(0);
  });

  it('without a wait refuses naming both numbers', async () => {
    const r = await preflight({ ...clock(), memTotalBytes: 62 * GiB, available: () => 870 * MiB, progress: () => undefined, cancelled: () => false, requireBytes: 20 * GiB, waitMs: undefined });
    expect(!r.ok && r.reason).toBe('not enough memory: 870 MiB available (MemAvailable), 20.0 GiB required (--require-available); free memory or pass --wait-available 10m to wait');
  });

  it('waits with progress until memory comes back', async () => {
    const c = clock();
    const lines: string[] = [];
    const r = await preflight({ ...c, memTotalBytes: 62 * GiB, available: () => (c.monotonicMs() >= 25_000 ? 40 * GiB : GiB), progress: (l) => lines.push(l), cancelled: () => false, requireBytes: 20 * GiB, waitMs: 60_000 });
    expect(r).toEqual({ ok: true, availableBytes: 40 * GiB, waitedMs: 25_000 });
    expect(lines[0]).toMatch(/^waiting up to 1 m for memory: 1\.0 GiB available/);
    expect(lines.filter((l) => l.startsWith('still waiting'))).toHaveLength(2);
    expect(lines.at(-1)).toBe('memory is back after 25 s: 40.0 GiB available');
  });

  it('gives up after the wait, and stops early when cancelled', async () => {
    const c = clock();
    const r = await preflight({ ...c, memTotalBytes: 62 * GiB, available: () => GiB, progress: () => undefined, cancelled: () => false, requireBytes: 20 * GiB, waitMs: 5000 });
    expect(!r.ok && r.reason).toMatch(/after waiting 5 s/);
    expect(!r.ok && r.cancelled).toBe(false);
    expect(c.monotonicMs()).toBe(5000);
    const c2 = clock();
    const r2 = await preflight({ ...c2, memTotalBytes: 62 * GiB, available: () => GiB, progress: () => undefined, cancelled: () => c2.monotonicMs() >= 2000, requireBytes: 20 * GiB, waitMs: 60_000 });
    expect(r2).toMatchObject({ ok: false, cancelled: true });
    expect(c2.monotonicMs()).toBe(2000);
  });
});

describe('sparkline and SVG chart', () => {
  it('scales to the limit and keeps spikes (bucket maxima)', () => {
    expect(sparkline([0, 25, 50, 75, 100], 10, 100)).toBe('▁▃▅▆█');
    expect(sparkline([0, 0, 0, 100, 0, 0, 0, 0], 4, 100)).toBe('▁█▁▁');
    expect(sparkline([10, 10], 5, 100)).toBe('▂▂');
    expect(sparkline([], 10)).toBe('');
    expect(sparkline(Array.from({ length: 1000 }, (_, i) => i), 60)).toHaveLength(60);
  });

  it('draws the memory line, the limit, the peak label and escapes the title', () => {
    const svg = renderMemoryChartSvg({
      title: 'train <1> & co',
      points: [{ t: 0, bytes: 0 }, { t: 60, bytes: 100 * MiB }, { t: 120, bytes: 190 * MiB }, { t: 180, bytes: 50 * MiB }],
      limitBytes: 200 * MiB,
      highBytes: 150 * MiB,
    });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg).toContain('train &lt;1&gt; &amp; co');
    expect(svg).toContain('limit 200 MiB');
    expect(svg).toContain('high 150 MiB');
    expect(svg).toContain('peak 190 MiB at 2 m');
    const polyline = /<polyline points="([^"]+)"/.exec(svg)?.[1]?.split(' ') ?? [];
    expect(polyline).toHaveLength(4);
    // y grows downwards: the peak point is the highest (smallest y).
    const ys = polyline.map((p) => Number(p.split(',')[1]));
    expect(Math.min(...ys)).toBe(ys[2]);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
  });

  it('downsamples long runs but keeps the peak', () => {
    const pts = Array.from({ length: 36_000 }, (_, i) => ({ t: i, bytes: i === 12_345 ? 999 : 1 }));
    const d = downsample(pts, 1000);
    expect(d).toHaveLength(1000);
    expect(d.some((p) => p.t === 12_345 && p.bytes === 999)).toBe(true);
  });
});

describe('summary and outcome', () => {
  const limit = 50 * GiB;
  const s = (t: number, mem: number, extra: Partial<TimedSample['job']> = {}): TimedSample => ({
    t,
    ts: `2025-12-12T03:${String(t).padStart(2, '0')}:00Z`,
    job: { memoryBytes: mem, processes: 1, ...extra },
    host: { memAvailableBytes: 10 * GiB, memoryFullAvg10: 0.5 },
  });

  it('says plainly when the kernel stopped the job at its limit', () => {
    const samples = [s(0, GiB), s(60, 30 * GiB), s(11_520, limit, { peakBytes: limit, oomKills: 1, limitHits: 12 })];
    const stats = computeStats(samples, { processes: 0, oomKills: 0, limitHits: 0 }, 11_520_000);
    expect(stats).toMatchObject({ peakBytes: limit, peakAtSeconds: 11_520, oomKills: 1, limitHits: 12, hostMinAvailableBytes: 10 * GiB, hostMaxMemoryFullAvg10: 0.5 });
    const outcome = decideOutcome({
      result: { exit: { code: null, signal: 'SIGKILL' }, sigkilled: false, durationMs: 11_520_000 },
      stats, limits: { memoryMaxBytes: limit }, responsiveFullPct: 10, memTotalBytes: 62 * GiB,
    });
    expect(outcome).toEqual({ exitCode: 137, killedByKernel: true, headline: 'stopped by the kernel at its 50.0 GiB limit after 3 h 12 m; peak 50.0 GiB; the machine stayed responsive' });
    const text = renderSummary({
      name: 'parallel_feature_testing.py', runId: 'k3x9z2', backend: 'cgroup-v1', location: '/sys/fs/cgroup/memory/headroom.slice/x', limits: { memoryMaxBytes: limit },
      outcome, stats, memorySeries: samples.map((x) => x.job.memoryBytes ?? 0), logPath: '/tmp/r.jsonl', chartPath: '/tmp/r.svg', cleanupProblems: [], leftovers: 0,
      responsiveFullPct: 10, memTotalBytes: 62 * GiB,
    });
    expect(text).toContain('peak memory 50.0 GiB at 3 h 12 m (100 % of the 50.0 GiB limit)');
    expect(text).toContain('limit hits 12; OOM kills 1');
    expect(text).toContain('memory ▁▅█');
    expect(text).toContain('exit code 137');
  });

  it('does not call the machine responsive when the host stalled', () => {
    const samples = [{ ...s(0, GiB), host: { memAvailableBytes: 500 * MiB, memoryFullAvg10: 35 } }];
    const stats = computeStats(samples, undefined, 1000);
    const o = decideOutcome({ result: { exit: { code: null, signal: 'SIGKILL' }, sigkilled: false, durationMs: 1000 }, stats: { ...stats, oomKills: 1 }, limits: { memoryMaxBytes: limit }, responsiveFullPct: 10, memTotalBytes: 62 * GiB });
    expect(o.headline).toMatch(/the machine was under memory pressure \(host stall peaked at 35\.0 %, MemAvailable down to 500 MiB\)/);
  });

  it('maps timeouts to 124, signals to 128+n, exit codes through, spawn failures to 125', () => {
    const stats = computeStats([s(0, MiB)], undefined, 2000);
    const base = { stats, limits: {}, responsiveFullPct: 10, memTotalBytes: GiB };
    const out = (exit: { code: number | null; signal: NodeJS.Signals | null; error?: Error }, extra: object = {}) =>
      decideOutcome({ ...base, result: { exit, sigkilled: false, durationMs: 2000, ...extra } });
    expect(out({ code: null, signal: 'SIGTERM' }, { stop: { kind: 'timeout', atMs: 2000 } }).exitCode).toBe(RUN_EXIT.timeout);
    expect(out({ code: null, signal: 'SIGKILL' }, { stop: { kind: 'timeout', atMs: 2000 }, sigkilled: true }).headline).toMatch(/ignored SIGTERM and was SIGKILLed/);
    expect(out({ code: 3, signal: null }).exitCode).toBe(3);
    expect(out({ code: 0, signal: null }).headline).toBe('finished with exit code 0 after 2 s; peak 1.0 MiB');
    expect(out({ code: null, signal: 'SIGSEGV' }).exitCode).toBe(139);
    expect(out({ code: null, signal: 'SIGINT' }, { stop: { kind: 'signal', signal: 'SIGINT', atMs: 500 } }).exitCode).toBe(130);
    expect(out({ code: null, signal: null, error: new Error('spawn /bin/sh EAGAIN') }).exitCode).toBe(125);
  });

  it('counts limit hits and OOM kills as deltas from the baseline', () => {
    const stats = computeStats([s(0, MiB, { limitHits: 5, oomKills: 2 }), s(1, MiB, { limitHits: 9, oomKills: 3 })], { processes: 0, limitHits: 5, oomKills: 2 }, 1000);
    expect(stats).toMatchObject({ limitHits: 4, oomKills: 1 });
  });
});
