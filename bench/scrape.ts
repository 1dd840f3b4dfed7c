/**
 * `npm run bench`: the exporter benchmark.
 *
 * For each process count N (default 2000 and 6000) it starts N idle processes, then measures, one target at a
 * time and in the same run: scrape wall time (median, p90), CPU time per scrape, RSS after the scrapes and the
 * series count of headroom, Debian's prometheus-process-exporter (every process grouped by comm, smaps off)
 * and prometheus-node-exporter (meminfo + pressure only), plus the floor: the time this Node process needs
 * just to readFileSync /proc/PID/stat of every process. It prints the ratios headroom/process-exporter and
 * headroom/floor and PASS/MISS against the targets (informational: the exit code is 0 either way). In each
 * round it also measures the growth history's retained heap, filled over its whole window, against its stated
 * bound (bench/history.ts, issue #11).
 *
 *   npm run bench                                   # 2000 and 6000 processes, 20 scrapes + 3 warm-up
 *   npm run bench -- --counts 200 --scrapes 5       # a quick run
 *   options: --counts N[,N...] --scrapes S --warmup W --json FILE --headroom-node-options "--flag ..."|none
 *   env:     HEADROOM_BENCH_COUNTS, HEADROOM_BENCH_SCRAPES, HEADROOM_BENCH_WARMUP, HEADROOM_BENCH_PYTHON,
 *            HEADROOM_BENCH_NODE_OPTIONS (V8/Node flags for the headroom agent instead of the shipped ones)
 *
 * headroom runs as shipped: bin/headroom, i.e. node with AGENT_NODE_FLAGS (src/agent/node-flags.ts). An override
 * runs `node <flags> dist/cli/main.js` instead ("none": node without flags).
 *
 * Safety: every process it starts is recorded and stopped by PID (the idle processes by their helper, which
 * kills exactly the PIDs it forked; the benchmark then checks each PID, with its start time, is gone), in a
 * finally block and on SIGINT/SIGTERM. Exporters listen on 127.0.0.1 only.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { IdleChildren } from './lib/children.js';
import { HEADROOM_MAIN, headroomLaunch, parseNodeOptions } from './lib/headroom.js';
import { allPids, CLOCK_TICKS_PER_SECOND, memAvailableBytes, pidBudget, residentBytes, statTimes } from './lib/proc.js';
import { RunningTarget, scrapeOnce, seriesCount, type TargetSpec } from './lib/targets.js';

const PROCESS_EXPORTER = '/usr/bin/prometheus-process-exporter';
const NODE_EXPORTER = '/usr/bin/prometheus-node-exporter';
const MIB = 1024 * 1024;

/** Targets at 6000 processes (from the issue). */
const TARGETS = {
  timeVsProcessExporter: 0.1,
  cpuVsProcessExporter: 0.1,
  timeVsFloor: 1.5,
  cpuVsFloor: 1.5,
  rssBytes: 80 * MIB,
  /** "Series count independent of N": headroom's count may differ by at most this share between counts. */
  seriesDrift: 0.05,
} as const;
const TARGET_N = 6000;
/** Tasks left free for everybody else on the machine when checking the PID budget. */
const PID_MARGIN = 1000;
/** Upper bounds that keep the benchmark bounded in count and time. */
const MAX_COUNT = 15000;
const MAX_SCRAPES = 200;

// ---------------------------------------------------------------------------------------------------------
// Options

interface Options {
  readonly counts: readonly number[];
  readonly scrapes: number;
  readonly warmup: number;
  readonly json?: string;
  readonly python: string;
  /** Node flags for the headroom agent instead of the shipped ones (to compare launch settings); undefined: as shipped. */
  readonly headroomNodeOptions?: readonly string[];
}

class UsageError extends Error {}

function parseIntOption(name: string, value: string, min: number, max: number): number {
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new UsageError(`${name}: "${value}" is not allowed; use a whole number from ${min} to ${max}`);
  }
  return Number(value);
}

function parseOptions(argv: readonly string[], env: NodeJS.ProcessEnv): Options {
  let counts = env.HEADROOM_BENCH_COUNTS ?? '2000,6000';
  let scrapes = env.HEADROOM_BENCH_SCRAPES ?? '20';
  let warmup = env.HEADROOM_BENCH_WARMUP ?? '3';
  let json: string | undefined;
  let nodeOptions = env.HEADROOM_BENCH_NODE_OPTIONS;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new UsageError(`${flag} needs a value`);
      return v;
    };
    if (flag === '--counts') counts = value();
    else if (flag === '--scrapes') scrapes = value();
    else if (flag === '--warmup') warmup = value();
    else if (flag === '--json') json = value();
    else if (flag === '--headroom-node-options') nodeOptions = value();
    else if (flag === '--help' || flag === '-h') {
      process.stdout.write('usage: tsx bench/scrape.ts [--counts 2000,6000] [--scrapes 20] [--warmup 3] [--json results.json] [--headroom-node-options "--max-semi-space-size=1" | none]\n');
      process.exit(0);
    } else throw new UsageError(`unknown option "${arg}"; allowed: --counts, --scrapes, --warmup, --json, --headroom-node-options`);
  }
  let headroomNodeOptions: string[] | undefined;
  if (nodeOptions !== undefined && nodeOptions !== '') {
    try {
      headroomNodeOptions = parseNodeOptions('--headroom-node-options (HEADROOM_BENCH_NODE_OPTIONS)', nodeOptions);
    } catch (error) {
      throw new UsageError(error instanceof Error ? error.message : String(error));
    }
  }
  const parsedCounts = counts.split(',').map((c) => parseIntOption('--counts (HEADROOM_BENCH_COUNTS)', c.trim(), 1, MAX_COUNT));
  return {
    counts: [...new Set(parsedCounts)].sort((a, b) => a - b),
    scrapes: parseIntOption('--scrapes (HEADROOM_BENCH_SCRAPES)', scrapes, 3, MAX_SCRAPES),
    warmup: parseIntOption('--warmup (HEADROOM_BENCH_WARMUP)', warmup, 0, 20),
    json,
    python: env.HEADROOM_BENCH_PYTHON ?? 'python3',
    ...(headroomNodeOptions === undefined ? {} : { headroomNodeOptions }),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Statistics

function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  // Nearest rank; the median of an even count is the mean of the two middle values.
  if (q === 0.5 && sorted.length % 2 === 0) return ((sorted[sorted.length / 2 - 1] ?? 0) + (sorted[sorted.length / 2] ?? 0)) / 2;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN;
}

// ---------------------------------------------------------------------------------------------------------
// Measurements

function loadAverage(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}

interface Measured {
  readonly medianSeconds: number;
  readonly p90Seconds: number;
  readonly cpuSecondsPerScrape: number;
  readonly rssBytes?: number;
  /** VmHWM: the peak resident memory of the exporter process since it started. */
  readonly peakRssBytes?: number;
  readonly series?: number;
  /** Processes (floor: files read) per pass, for the floor. */
  readonly filesPerPass?: number;
  /** headroom only: median seconds per collector from headroom_scrape_collector_duration_seconds. */
  readonly collectorSeconds?: Readonly<Record<string, number>>;
}

interface TargetResult {
  readonly name: string;
  readonly command: string;
  readonly measured?: Measured;
  readonly skipped?: string;
}

interface RoundResult {
  readonly n: number;
  readonly processesInProc: number;
  readonly floor: Measured;
  readonly targets: readonly TargetResult[];
  /** The growth history's retained heap at this N (bench/history.ts), or why it was not measured. */
  readonly history?: HistoryMeasured | { readonly failed: string };
}

interface HistoryMeasured {
  readonly processes: number;
  readonly boundBytes: number;
  readonly realBytes: number;
  readonly worstBytes: number;
  readonly held: { readonly hostPoints: number; readonly treeFrames: number };
  readonly treeScanMedianMs: number | null;
}

const HISTORY_SCRIPT = fileURLToPath(new URL('./history.ts', import.meta.url));

/**
 * bench/history.ts in its own node (--expose-gc) while the idle processes run: the growth history filled over
 * its whole window from real /proc samples, and at its worst case, against its stated bound. A child of this
 * run, bounded by a timeout (spawnSync stops it by its PID when it expires).
 */
function measureHistory(): HistoryMeasured | { failed: string } {
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', HISTORY_SCRIPT], { encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) return { failed: `bench/history.ts exited ${r.status ?? r.signal ?? '?'}: ${(r.stderr || r.error?.message || '').trim().split('\n').slice(-3).join(' ')}` };
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as HistoryMeasured;
}

/** Raw floor passes: seconds and CPU seconds of each pass, files read, processes that vanished mid-pass. */
interface FloorPasses {
  readonly seconds: number[];
  readonly cpuSeconds: number[];
  readonly files: number[];
  vanished: number;
}

/** The floor: readdir /proc, then readFileSync /proc/PID/stat of every process, in this process. */
function floorPasses(into: FloorPasses, passes: number, warmup: number): void {
  for (let pass = 0; pass < warmup + passes; pass++) {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let read = 0;
    for (const pid of allPids()) {
      try {
        readFileSync(`/proc/${pid}/stat`);
        read++;
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        if (code !== 'ENOENT' && code !== 'ESRCH') throw error;
        into.vanished++;
      }
    }
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    if (pass >= warmup) {
      into.seconds.push(seconds);
      into.cpuSeconds.push((cpu.user + cpu.system) / 1e6);
      into.files.push(read);
    }
  }
}

function floorResult(f: FloorPasses): Measured {
  return {
    medianSeconds: quantile(f.seconds, 0.5),
    p90Seconds: quantile(f.seconds, 0.9),
    cpuSecondsPerScrape: f.cpuSeconds.reduce((a, b) => a + b, 0) / f.cpuSeconds.length,
    filesPerPass: Math.round(f.files.reduce((a, b) => a + b, 0) / f.files.length),
  };
}

function collectorDurations(body: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of body.matchAll(/^headroom_scrape_collector_duration_seconds\{collector="([^"]+)"\} (\S+)$/gm)) {
    if (m[1] !== undefined && m[2] !== undefined) out.set(m[1], Number(m[2]));
  }
  return out;
}

async function measureTarget(target: RunningTarget, scrapes: number, warmup: number): Promise<Measured> {
  const timeoutMs = 120_000;
  for (let i = 0; i < warmup; i++) await scrapeOnce(target.url, target.agent, timeoutMs);
  const before = statTimes(target.pid);
  if (before === undefined) throw new Error(`${target.spec.name} (PID ${target.pid}) exited during warm-up: ${target.recentOutput}`);
  const times: number[] = [];
  const perCollector = new Map<string, number[]>();
  let last = '';
  for (let i = 0; i < scrapes; i++) {
    const sample = await scrapeOnce(target.url, target.agent, timeoutMs);
    times.push(sample.seconds);
    last = sample.body;
    for (const [name, seconds] of collectorDurations(sample.body)) {
      const list = perCollector.get(name) ?? [];
      list.push(seconds);
      perCollector.set(name, list);
    }
  }
  const after = statTimes(target.pid);
  const rss = residentBytes(target.pid);
  if (after === undefined || rss === undefined) throw new Error(`${target.spec.name} (PID ${target.pid}) exited during the scrapes: ${target.recentOutput}`);
  const collectorSeconds: Record<string, number> = {};
  for (const [name, list] of perCollector) collectorSeconds[name] = quantile(list, 0.5);
  return {
    medianSeconds: quantile(times, 0.5),
    p90Seconds: quantile(times, 0.9),
    cpuSecondsPerScrape: (after.cpuTicks - before.cpuTicks) / CLOCK_TICKS_PER_SECOND / scrapes,
    rssBytes: rss.rss,
    peakRssBytes: rss.peak,
    series: seriesCount(last),
    ...(perCollector.size > 0 ? { collectorSeconds } : {}),
  };
}

// ---------------------------------------------------------------------------------------------------------
// What we started, and stopping it

/** Everything this run started, stopped by PID in reverse order; used by finally and the signal handlers. */
class Started {
  private readonly stops = new Map<object, () => Promise<void>>();

  add(key: object, stop: () => Promise<void>): void {
    this.stops.set(key, stop);
  }

  async stop(key: object): Promise<void> {
    const stop = this.stops.get(key);
    this.stops.delete(key);
    if (stop) await stop();
  }

  async stopAll(): Promise<void> {
    const errors: unknown[] = [];
    for (const key of [...this.stops.keys()].reverse()) {
      try {
        await this.stop(key);
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length > 0) throw new AggregateError(errors, `stopping ${errors.length} started process(es) failed`);
  }
}

function targetSpecs(configFile: string, nodeOptions: readonly string[] | undefined): Array<TargetSpec & { readonly binary: string; readonly install: string }> {
  const headroom = headroomLaunch(nodeOptions);
  return [
    {
      name: 'headroom',
      binary: HEADROOM_MAIN,
      install: 'run `npm run build`',
      command: headroom.command,
      args: (port) => [...headroom.args, 'agent', '--listen', `127.0.0.1:${port}`],
      describe: `${headroom.describe} agent --listen 127.0.0.1:PORT (default config)`,
    },
    {
      name: 'process-exporter',
      binary: PROCESS_EXPORTER,
      install: 'scripts/install-deps.sh installs prometheus-process-exporter',
      command: PROCESS_EXPORTER,
      args: (port) => ['-config.path', configFile, '-gather-smaps=false', '-web.listen-address', `127.0.0.1:${port}`],
      describe: 'prometheus-process-exporter -config.path CONFIG -gather-smaps=false -web.listen-address 127.0.0.1:PORT',
    },
    {
      name: 'node-exporter',
      binary: NODE_EXPORTER,
      install: 'scripts/install-deps.sh installs prometheus-node-exporter',
      command: NODE_EXPORTER,
      args: (port) => ['--collector.disable-defaults', '--collector.meminfo', '--collector.pressure', `--web.listen-address=127.0.0.1:${port}`],
      describe: 'prometheus-node-exporter --collector.disable-defaults --collector.meminfo --collector.pressure --web.listen-address=127.0.0.1:PORT',
    },
  ];
}

/** process-exporter: every process with a command line, grouped by comm. */
const PROCESS_EXPORTER_CONFIG = `process_names:
  - name: "{{.Comm}}"
    cmdline:
      - '.+'
`;

async function runRound(n: number, opts: Options, started: Started, configFile: string, out: (line: string) => void): Promise<RoundResult> {
  out(`\n== N = ${n} idle processes == (load average ${loadAverage()})`);
  const budget = pidBudget();
  if (budget.available - PID_MARGIN < n) {
    throw new Error(`not enough PIDs for ${n} idle processes (+${PID_MARGIN} margin): ${budget.limits.join('; ')}`);
  }
  const needBytes = n * 2 * MIB + 1024 * MIB;
  if (memAvailableBytes() < needBytes) throw new Error(`MemAvailable ${Math.round(memAvailableBytes() / MIB)} MiB < ${Math.round(needBytes / MIB)} MiB needed for ${n} idle processes`);
  const t0 = performance.now();
  const idle = await IdleChildren.start(n, opts.python, 300_000, (i) => started.add(i, async () => {
    const r = await i.stop();
    if (r.survivors > 0) throw new Error(`${r.survivors} of our idle processes are still present after cleanup`);
  }));
  out(`  started ${idle.count} idle processes (helper PID ${idle.helperPid}) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  try {
    const processesInProc = allPids().length;
    out(`  processes in /proc: ${processesInProc}`);
    // The floor is measured in two halves, before and after the exporters, so a burst of other work on the
    // machine during one window does not decide it alone.
    const passes: FloorPasses = { seconds: [], cpuSeconds: [], files: [], vanished: 0 };
    floorPasses(passes, Math.ceil(opts.scrapes / 2), opts.warmup);
    const targets: TargetResult[] = [];
    for (const spec of targetSpecs(configFile, opts.headroomNodeOptions)) {
      if (!existsSync(spec.binary)) {
        targets.push({ name: spec.name, command: spec.describe, skipped: `${spec.binary} not found (${spec.install})` });
        out(`  ${spec.name}: SKIPPED, ${spec.binary} not found (${spec.install})`);
        continue;
      }
      const target = await RunningTarget.start(spec, 120_000, (t) => started.add(t, () => t.stop()));
      try {
        const measured = await measureTarget(target, opts.scrapes, opts.warmup);
        targets.push({ name: spec.name, command: spec.describe, measured });
        out(`  ${spec.name} (PID ${target.pid}): median ${(measured.medianSeconds * 1000).toFixed(1)} ms, CPU ${(measured.cpuSecondsPerScrape * 1000).toFixed(1)} ms/scrape`);
      } finally {
        await started.stop(target);
      }
    }
    floorPasses(passes, Math.floor(opts.scrapes / 2), 1);
    const floor = floorResult(passes);
    out(`  floor: median ${(floor.medianSeconds * 1000).toFixed(1)} ms over ${floor.filesPerPass} files${passes.vanished > 0 ? ` (${passes.vanished} processes exited between listing and read, skipped)` : ''}`);
    const history = measureHistory();
    out('failed' in history ? `  growth history: NOT MEASURED, ${history.failed}` : `  growth history: ${history.realBytes} B retained (real /proc, ${history.processes} processes), ${history.worstBytes} B worst case, bound ${history.boundBytes} B`);
    return { n, processesInProc, floor, targets, history };
  } finally {
    await started.stop(idle);
    out(`  stopped the idle processes; all ${idle.count} recorded PIDs are gone`);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Report

const ms = (s: number | undefined): string => (s === undefined || Number.isNaN(s) ? 'n/a' : (s * 1000).toFixed(1));
const mib = (b: number | undefined): string => (b === undefined ? 'n/a' : (b / MIB).toFixed(1));
const ratio = (a: number | undefined, b: number | undefined): number | undefined => (a === undefined || b === undefined || b === 0 ? undefined : a / b);
const fmtRatio = (r: number | undefined): string => (r === undefined ? 'n/a' : `${r.toFixed(3)}×`);

function roundTable(r: RoundResult): string[] {
  const lines = [
    `### N = ${r.n} idle processes (${r.processesInProc} processes in /proc)`,
    '',
    '| target | median ms | p90 ms | CPU ms/scrape | RSS MiB | peak RSS MiB | series |',
    '|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const t of r.targets) {
    const m = t.measured;
    if (!m) lines.push(`| ${t.name} | skipped: ${t.skipped ?? ''} | | | | | |`);
    else lines.push(`| ${t.name} | ${ms(m.medianSeconds)} | ${ms(m.p90Seconds)} | ${ms(m.cpuSecondsPerScrape)} | ${mib(m.rssBytes)} | ${mib(m.peakRssBytes)} | ${m.series ?? 'n/a'} |`);
  }
  lines.push(`| floor (readFileSync of ${r.floor.filesPerPass} stat files) | ${ms(r.floor.medianSeconds)} | ${ms(r.floor.p90Seconds)} | ${ms(r.floor.cpuSecondsPerScrape)} | – | – | – |`);
  const h = r.targets.find((t) => t.name === 'headroom')?.measured;
  const pe = r.targets.find((t) => t.name === 'process-exporter')?.measured;
  lines.push(
    '',
    `- headroom / process-exporter: time ${fmtRatio(ratio(h?.medianSeconds, pe?.medianSeconds))}, CPU ${fmtRatio(ratio(h?.cpuSecondsPerScrape, pe?.cpuSecondsPerScrape))}`,
    `- headroom / floor: time ${fmtRatio(ratio(h?.medianSeconds, r.floor.medianSeconds))}, CPU ${fmtRatio(ratio(h?.cpuSecondsPerScrape, r.floor.cpuSecondsPerScrape))}`,
  );
  const g = r.history;
  if (g !== undefined) {
    lines.push(
      'failed' in g
        ? `- growth history: not measured (${g.failed})`
        : `- growth history (defaults: 15 min window, host 1 s, trees 15 s, K 10; full: ${g.held.hostPoints} host points, ${g.held.treeFrames} tree frames): ${(g.realBytes / MIB).toFixed(2)} MiB retained heap from real /proc samples (${g.processes} processes, tree scan median ${g.treeScanMedianMs === null ? 'n/a' : g.treeScanMedianMs.toFixed(1)} ms), ${(g.worstBytes / MIB).toFixed(2)} MiB at the worst case the caps allow; stated bound ${(g.boundBytes / MIB).toFixed(2)} MiB: ${g.realBytes <= g.boundBytes && g.worstBytes <= g.boundBytes ? 'PASS' : 'MISS'}`,
    );
  }
  if (h?.collectorSeconds) {
    const parts = Object.entries(h.collectorSeconds).map(([name, s]) => `${name} ${ms(s)}`);
    const sum = Object.values(h.collectorSeconds).reduce((a, b) => a + b, 0);
    lines.push(`- headroom per collector (median ms, from headroom_scrape_collector_duration_seconds): ${parts.join(', ')}; sum ${ms(sum)}, the rest of the scrape (render, HTTP) ≈ ${ms(h.medianSeconds - sum)}`);
  }
  return lines;
}

function verdicts(rounds: readonly RoundResult[]): string[] {
  const last = rounds[rounds.length - 1];
  if (!last) return [];
  const h = last.targets.find((t) => t.name === 'headroom')?.measured;
  const pe = last.targets.find((t) => t.name === 'process-exporter')?.measured;
  const lines = [`### Targets at N = ${last.n}${last.n === TARGET_N ? '' : ` (the targets are set for N = ${TARGET_N}; this run is smaller)`}`, ''];
  const check = (label: string, value: number | undefined, limit: number | undefined, show: (v: number) => string): void => {
    if (value === undefined || limit === undefined) lines.push(`- n/a  ${label}: not measured`);
    else lines.push(`- ${value <= limit ? 'PASS' : 'MISS'} ${label}: ${show(value)} (limit ${show(limit)})`);
  };
  const msf = (v: number): string => `${ms(v)} ms`;
  check('scrape time ≤ 0.1 × process-exporter', h?.medianSeconds, pe ? pe.medianSeconds * TARGETS.timeVsProcessExporter : undefined, msf);
  check('CPU per scrape ≤ 0.1 × process-exporter', h?.cpuSecondsPerScrape, pe ? pe.cpuSecondsPerScrape * TARGETS.cpuVsProcessExporter : undefined, msf);
  check('scrape time ≤ 1.5 × floor', h?.medianSeconds, last.floor.medianSeconds * TARGETS.timeVsFloor, msf);
  check('CPU per scrape ≤ 1.5 × floor', h?.cpuSecondsPerScrape, last.floor.cpuSecondsPerScrape * TARGETS.cpuVsFloor, msf);
  check('headroom RSS ≤ 80 MiB', h?.rssBytes, TARGETS.rssBytes, (v) => `${mib(v)} MiB`);
  const series = rounds.map((r) => ({ n: r.n, s: r.targets.find((t) => t.name === 'headroom')?.measured?.series }));
  const known = series.filter((x): x is { n: number; s: number } => x.s !== undefined);
  if (known.length < 2) lines.push('- n/a  series count independent of N: needs two or more counts');
  else {
    const min = Math.min(...known.map((x) => x.s));
    const max = Math.max(...known.map((x) => x.s));
    const ok = max - min <= TARGETS.seriesDrift * min;
    lines.push(`- ${ok ? 'PASS' : 'MISS'} series count independent of N: ${known.map((x) => `${x.s} at N=${x.n}`).join(', ')} (allowed spread ${Math.floor(TARGETS.seriesDrift * min)})`);
  }
  return lines;
}

// ---------------------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  let opts: Options;
  try {
    opts = parseOptions(process.argv.slice(2), process.env);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`bench: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  const out = (line: string): void => {
    process.stdout.write(`${line}\n`);
  };
  const started = new Started();
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`\nbench: ${signal}: stopping every process this run started\n`);
    started.stopAll().then(
      () => process.exit(130),
      (error: unknown) => {
        process.stderr.write(`bench: cleanup failed: ${error instanceof Error ? error.message : String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const tmp = mkdtempSync(join(tmpdir(), 'headroom-bench-'));
  const configFile = join(tmp, 'process-exporter.yml');
  writeFileSync(configFile, PROCESS_EXPORTER_CONFIG);
  const baseline = allPids().length;
  const budget = pidBudget();
  out(`headroom exporter benchmark — ${new Date().toISOString()}`);
  out(`counts ${opts.counts.join(', ')}; ${opts.scrapes} scrapes per measurement after ${opts.warmup} warm-up; ${baseline} processes before`);
  out(`PID budget: ${budget.limits.join('; ')}`);
  out(`load average ${loadAverage()} on ${availableParallelism()} CPUs (other work on the machine makes the numbers noisy)`);
  const rounds: RoundResult[] = [];
  try {
    for (const n of opts.counts) rounds.push(await runRound(n, opts, started, configFile, out));
  } finally {
    await started.stopAll();
    rmSync(tmp, { recursive: true, force: true });
  }
  const after = allPids().length;
  out(`load average at the end: ${loadAverage()}`);
  out(`\nprocesses before: ${baseline}, after: ${after}${after === baseline ? '' : ' (others share this machine; every PID this run started was checked gone)'}\n`);
  const specs = targetSpecs('CONFIG', opts.headroomNodeOptions);
  const report = [
    ...rounds.flatMap((r) => [...roundTable(r), '']),
    ...verdicts(rounds),
    '',
    'Commands:',
    ...specs.map((s) => `- ${s.name}: \`${s.describe}\``),
    `- process-exporter CONFIG: \`${PROCESS_EXPORTER_CONFIG.replace(/\n/g, ' ').replace(/ +/g, ' ').trim()}\``,
  ];
  for (const line of report) out(line);
  if (opts.json) {
    writeFileSync(opts.json, `${JSON.stringify({ date: new Date().toISOString(), options: opts, rounds }, null, 2)}\n`);
    out(`\nwrote ${opts.json}`);
  }
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
