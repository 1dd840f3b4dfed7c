/**
 * `npm run bench:fleet`: the central side of a fleet, measured on one machine.
 *
 * 1. Per-host series budget: 6 000 idle processes (bench/lib/idle_children.py), one headroom agent with the
 *    default config, its /metrics scraped and counted (series per metric family). That body is the recording.
 * 2. 500 simulated agents: one small HTTP server in this process listening on 500 loopback ports, serving the
 *    recorded body (a tenth of the hosts with thresholds lowered so their alerts fire: 500 hosts' alerts). A
 *    real Prometheus scrapes them every 5 s (the repo's interval for the headroom job) with the repo's rules,
 *    sending to a real Alertmanager (alerting/alertmanager-fleet.yml). Printed: rule evaluation time per group
 *    (prometheus_rule_group_last_duration_seconds), head series, Prometheus RSS, scrape duration.
 * 3. The routing design at 500 hosts: 500 AlertSource pullers (src/fleet/source.ts, the agents' code) in this
 *    process, each asking the Alertmanager for its own instance's alerts, spread over each 5 s interval as
 *    agents on their own clocks do; printed: request latency, Alertmanager CPU and RSS, alerts handed, foreign
 *    alerts (must be 0).
 *
 *   npm run bench:fleet                       # 500 hosts, 6000 processes, ~3 minutes
 *   options: --hosts N (≤ 1000) --processes N (≤ 10000) --settle SECONDS (≤ 300)
 *
 * Safety: every process started (idle children, agent, Prometheus, Alertmanager) is stopped by PID in a finally
 * block; everything listens on 127.0.0.1; counts and durations are bounded.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { AlertSource, type FetchText, type PipelineLike } from '../src/fleet/source.js';
import { memoryLogger } from '../src/logging/logger.js';
import type { Notification } from '../src/notify/events.js';
import type { Disposition, Trigger } from '../src/remediation/trigger.js';
import { IdleChildren, stopChild } from './lib/children.js';
import { headroomLaunch } from './lib/headroom.js';
import { pidBudget, residentBytes, statTimes, CLOCK_TICKS_PER_SECOND } from './lib/proc.js';
import { RunningTarget, scrapeOnce, seriesCount } from './lib/targets.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const MIB = 1024 * 1024;

function option(name: string, fallback: number, max: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(v) || v < 1 || v > max) throw new Error(`--${name}: must be a whole number from 1 to ${max}`);
  return v;
}
const HOSTS = option('hosts', 500, 1000);
const PROCESSES = option('processes', 6000, 10_000);
const SETTLE_S = option('settle', 60, 300);

const cleanups: Array<() => Promise<void> | void> = [];
const log = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

/** GET with a hard deadline (queueing for a socket included). */
function get(url: string, agent?: Agent, timeoutMs = 10_000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
      });
    });
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    req.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.end();
  });
}

async function waitFor<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  let last = '';
  while (performance.now() < deadline) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${what}: not ready after ${timeoutMs} ms ${last}`);
}

async function freePorts(n: number): Promise<number[]> {
  const servers: Server[] = [];
  const ports: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = createServer();
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', () => resolve()));
    servers.push(s);
    ports.push((s.address() as { port: number }).port);
  }
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  return ports;
}

function spawnBounded(command: string, args: readonly string[]): ChildProcess {
  const child = spawn(command, [...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  child.once('exit', (code, signal) => {
    if (code !== 0 && signal === null) process.stderr.write(`${command} exited ${code}: ${err}\n`);
  });
  cleanups.push(() => stopChild(child, 5000));
  return child;
}

function familyOf(line: string): string {
  const name = line.split(/[{ ]/)[0] ?? '';
  return name.replace(/_(bucket|sum|count)$/, '');
}

/** Step 1: the series one host exports at PROCESSES processes with the default config. */
async function seriesBudget(): Promise<string> {
  const budget = pidBudget();
  if (budget.available < PROCESSES + 1000) throw new Error(`not enough PIDs for ${PROCESSES} processes: ${budget.limits.join('; ')}`);
  const idle = await IdleChildren.start(PROCESSES, process.env.HEADROOM_BENCH_PYTHON ?? 'python3', 120_000, (i) => cleanups.push(async () => void (await i.stop())));
  const launch = headroomLaunch(undefined);
  const target = await RunningTarget.start({ name: 'headroom', command: launch.command, args: (port) => [...launch.args, 'agent', '--listen', `127.0.0.1:${port}`], describe: launch.describe }, 60_000, (t) => cleanups.push(() => t.stop()));
  let body = '';
  const counts: number[] = [];
  for (let i = 0; i < 5; i++) {
    body = (await scrapeOnce(target.url, target.agent, 30_000)).body;
    counts.push(seriesCount(body));
  }
  const families = new Map<string, number>();
  for (const line of body.split('\n')) if (line !== '' && !line.startsWith('#')) families.set(familyOf(line), (families.get(familyOf(line)) ?? 0) + 1);
  log(`== per-host series budget: ${PROCESSES} idle processes (+ the machine's own), default config, ${launch.describe}`);
  log(`series per scrape (5 scrapes): ${counts.join(', ')}  → budget: ${Math.max(...counts)} series per host`);
  const top = [...families.entries()].sort((a, b) => b[1] - a[1]).slice(0, 12);
  log(`largest families: ${top.map(([f, n]) => `${f} ${n}`).join(', ')}`);
  // The worst case with the default caps: series per exported object (measured) × the cap on objects.
  const objects = { process: new Set<string>(), group: new Set<string>(), cgroup: new Set<string>() };
  const perKind = { process: 0, group: 0, cgroup: 0, fixed: 0 };
  for (const line of body.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const pid = /[{,]pid="([^"]*)"/.exec(line)?.[1];
    const group = /[{,]group="([^"]*)"/.exec(line)?.[1];
    const cgroup = /[{,]cgroup="([^"]*)"/.exec(line)?.[1];
    if (pid !== undefined) {
      objects.process.add(pid);
      perKind.process++;
    } else if (group !== undefined) {
      objects.group.add(group);
      perKind.group++;
    } else if (cgroup !== undefined && line.startsWith('headroom_cgroup_')) {
      objects.cgroup.add(cgroup);
      perKind.cgroup++;
    } else perKind.fixed++;
  }
  const per = (k: 'process' | 'group' | 'cgroup'): number => (objects[k].size === 0 ? 0 : Math.ceil(perKind[k] / objects[k].size));
  const bound = perKind.fixed + per('process') * 50 + per('group') * 16 + per('cgroup') * 200;
  log(`exported now: ${objects.process.size} processes × ≤${per('process')} series, ${objects.group.size} groups × ≤${per('group')}, ${objects.cgroup.size} cgroups × ≤${per('cgroup')}, ${perKind.fixed} other series`);
  log(`worst case with the default caps (top_processes.max_series 50, process_groups.max_groups 15 + other, cgroups.max_series 200): ${bound} series per host`);
  await target.stop();
  await idle.stop();
  return body;
}

/**
 * The quiet fleet's body: the recording without its process-tree series and with the cgroup lines at 1.0. At 6 000 processes the helper is one tree of 6 000 python3 processes whose summed RSS (shared pages
 * counted in each) is above MemTotal, so HeadroomProcessMemoryCritical would fire on every simulated host; and
 * the recording machine's own cgroups (other tests') may sit near their limits.
 */
function quietBody(recorded: string): string {
  return recorded
    .split('\n')
    .filter((line) => !line.startsWith('headroom_process_tree_'))
    .join('\n')
    .replace(/^(headroom_threshold_ratio\{threshold="(?:cgroup_warning|cgroup_critical)"\}) .*$/gm, '$1 1');
}


/**
 * Host i's body: the recording, with lowered thresholds so alerts fire: host memory warning + critical on every
 * tenth host, the process-tree line (every exported process above 0.01 % of memory) on every fiftieth.
 */
function hostBody(recorded: string, i: number): string {
  if (i % 10 !== 0) return quietBody(recorded);
  return quietBody(recorded)
    .replace(/^(headroom_threshold_ratio\{threshold="process_tree_critical"\}) .*$/m, i % 50 === 0 ? '$1 0.0001' : '$1 1')
    .replace(/^(headroom_threshold_ratio\{threshold="host_memory_warning"\}) .*$/m, '$1 0.01')
    .replace(/^(headroom_threshold_ratio\{threshold="host_memory_critical"\}) .*$/m, '$1 0.02');
}

async function main(): Promise<void> {
  const started = performance.now();
  const recorded = await seriesBudget();
  const dir = mkdtempSync(join(tmpdir(), 'headroom-bench-fleet-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));

  // Step 2: 500 simulated agents on loopback ports, served by one server per port from this process.
  const ports = await freePorts(HOSTS + 3);
  const am2Port = ports[HOSTS + 2] as number;
  const promPort = ports[HOSTS] as number;
  const amPort = ports[HOSTS + 1] as number;
  const servers: Server[] = [];
  const bodies = new Map<number, string>();
  for (let i = 0; i < HOSTS; i++) {
    const port = ports[i] as number;
    bodies.set(port, quietBody(recorded));
    const s = createServer((req, res) => {
      res.setHeader('content-type', 'text/plain; version=0.0.4; charset=utf-8');
      res.end(bodies.get(port));
    });
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => resolve());
    });
    servers.push(s);
  }
  cleanups.push(() => Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())))).then(() => undefined));
  const instances = ports.slice(0, HOSTS).map((p) => `127.0.0.1:${p}`);
  const promConfig = [
    'global:',
    '  scrape_interval: 5s',
    '  scrape_timeout: 4s',
    '  evaluation_interval: 5s',
    'rule_files:',
    `  - ${join(REPO, 'prometheus', 'rules', '*.yml')}`,
    'alerting:',
    '  alertmanagers:',
    '    - static_configs:',
    `        - targets: ['127.0.0.1:${amPort}', '127.0.0.1:${am2Port}']`,
    'scrape_configs:',
    '  - job_name: headroom',
    '    static_configs:',
    `      - targets: [${instances.map((x) => `'${x}'`).join(', ')}]`,
    '',
  ].join('\n');
  writeFileSync(join(dir, 'prometheus.yml'), promConfig);
  const am = spawnBounded('prometheus-alertmanager', [`--config.file=${join(REPO, 'alerting', 'alertmanager-fleet.yml')}`, `--storage.path=${join(dir, 'am')}`, `--web.listen-address=127.0.0.1:${amPort}`, '--cluster.listen-address=']);
  // The same Alertmanager with --web.get-concurrency raised (docs/fleet.md: what a fleet should run with).
  const amWide = spawnBounded('prometheus-alertmanager', [`--config.file=${join(REPO, 'alerting', 'alertmanager-fleet.yml')}`, `--storage.path=${join(dir, 'am2')}`, `--web.listen-address=127.0.0.1:${am2Port}`, '--cluster.listen-address=', '--web.get-concurrency=64']);
  const prom = spawnBounded('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'prom')}`, `--web.listen-address=127.0.0.1:${promPort}`]);
  const promUrl = `http://127.0.0.1:${promPort}`;
  const amUrl = `http://127.0.0.1:${amPort}`;
  const query = async (expr: string): Promise<number[]> => {
    const r = await get(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const j = JSON.parse(r.body) as { data: { result: Array<{ value: [number, string] }> } };
    return j.data.result.map((x) => Number(x.value[1]));
  };
  await waitFor('Prometheus scraping all targets', 120_000, async () => {
    const up = await query('sum(up{job="headroom"})');
    return (up[0] ?? 0) >= HOSTS ? true : undefined;
  });
  log(`\n== central side: ${HOSTS} simulated agents (recorded body, ${seriesCount(recorded)} series each), Prometheus (repo rules, 5 s scrape/eval) + Alertmanager`);
  const measure = async (label: string): Promise<void> => {
    const tsdb = JSON.parse((await get(`${promUrl}/api/v1/status/tsdb`)).body) as { data: { headStats: { numSeries: number } } };
    const headSeries = tsdb.data.headStats.numSeries;
    const groups = await get(`${promUrl}/api/v1/rules`);
    const rules = JSON.parse(groups.body) as { data: { groups: Array<{ name: string; evaluationTime: number; rules: Array<{ type: string; name: string; labels?: Record<string, string>; alerts?: unknown[] }> }> } };
    const byRule = rules.data.groups.flatMap((g) => g.rules).filter((r) => (r.alerts?.length ?? 0) > 0).map((r) => `${r.name}/${r.labels?.severity ?? ''} ${r.alerts?.length ?? 0}`);
    const evalTotal = rules.data.groups.reduce((s, g) => s + g.evaluationTime, 0);
    const firing = rules.data.groups.flatMap((g) => g.rules).reduce((s, r) => s + (r.alerts?.length ?? 0), 0);
    const scrapeDur = await query('quantile(0.99, scrape_duration_seconds{job="headroom"})');
    const promRss = residentBytes(prom.pid as number);
    log(`-- ${label}`);
    log(`head series: ${headSeries} (${(headSeries / HOSTS).toFixed(0)} per host)`);
    log(`rule evaluation (last, per group): ${rules.data.groups.map((g) => `${g.name} ${(g.evaluationTime * 1000).toFixed(1)} ms`).join(', ')}; total ${(evalTotal * 1000).toFixed(1)} ms per 5 s evaluation interval (groups run concurrently)`);
    log(`alerts (firing + pending) in Prometheus: ${firing} (${byRule.join(', ') || 'none'}); scrape duration p99 ${((scrapeDur[0] ?? 0) * 1000).toFixed(1)} ms`);
    log(`Prometheus RSS: ${((promRss?.rss ?? 0) / MIB).toFixed(0)} MiB (peak ${((promRss?.peak ?? 0) / MIB).toFixed(0)} MiB)`);
  };
  const quiet = Math.min(30, SETTLE_S);
  log(`quiet fleet: settling ${quiet} s…`);
  await new Promise((r) => setTimeout(r, quiet * 1000));
  await measure('quiet fleet (no alert firing)');
  for (let i = 0; i < HOSTS; i++) bodies.set(ports[i] as number, hostBody(recorded, i));
  log(`alert storm: thresholds lowered on every 10th host; settling ${SETTLE_S} s (rules with for: 15s-1m fire; alerts reach Alertmanager)…`);
  await new Promise((r) => setTimeout(r, SETTLE_S * 1000));
  await measure('alert storm');
  // Step 3: 500 pullers, the agents' AlertSource code, against the real Alertmanager. Agents poll on their own
  // clocks, so one 5 s interval spreads the 500 requests evenly (100 requests/s), as in the field.
  const routing = async (amUrl: string, amProc: ChildProcess, label: string, intervalS: number): Promise<void> => {
  const amAgent = new Agent({ keepAlive: true, maxSockets: 32 });
  const latencies: number[] = [];
  const fetchText: FetchText = async (url) => {
    const t0 = performance.now();
    const r = await get(url, amAgent, 30_000);
    latencies.push(performance.now() - t0);
    return r;
  };
  const amAlerts = JSON.parse((await get(`${amUrl}/api/v2/alerts`, undefined, 30_000)).body) as Array<{ labels: Record<string, string>; status: { state: string } }>;
  const byState = new Map<string, number>();
  for (const a of amAlerts) byState.set(a.status.state, (byState.get(a.status.state) ?? 0) + 1);
  const pullLog = memoryLogger();
  let handed = 0;
  let foreign = 0;
  let unanswered = 0;
  const sources = instances.map(
    (inst) =>
      new AlertSource({
        instance: inst,
        host: inst,
        members: [amUrl],
        remediateReceivers: ['headroom-remediate'],
        pipeline: { isRepeat: () => false, handle: (_t: Trigger): Promise<Disposition> => Promise.resolve({ kind: 'duplicate' }) } satisfies PipelineLike,
        sink: { publish: (_n: Notification) => undefined },
        fetchText,
        now: () => new Date(),
        logger: pullLog,
        registry: new Registry(),
      }),
  );
  const ROUNDS = 3;
  const amBefore = statTimes(amProc.pid as number);
  const t0 = performance.now();
  const polls: Array<Promise<void>> = [];
  for (let r = 0; r < ROUNDS; r++) {
    for (const [i, s] of sources.entries()) {
      await new Promise((res) => setTimeout(res, (intervalS * 1000) / HOSTS));
      void i;
      polls.push(
        s.poll().then((x) => {
          if (x.answered !== 1) unanswered++;
          if (r === 0) handed += x.handed.length;
          foreign += x.foreign;
        }),
      );
    }
  }
  await Promise.all(polls);
  const wall = (performance.now() - t0) / 1000;
  const amAfter = statTimes(amProc.pid as number);
  const amCpu = amBefore && amAfter ? (amAfter.cpuTicks - amBefore.cpuTicks) / CLOCK_TICKS_PER_SECOND : Number.NaN;
  const amRss = residentBytes(amProc.pid as number);
  amAgent.destroy();
  const sorted = [...latencies].sort((a, b) => a - b);
  const q = (p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
  const requests = HOSTS * ROUNDS;
  log(`\n== routing (agents pull their alerts), ${label}: ${HOSTS} pullers, ${ROUNDS} rounds of ${intervalS} s, one Alertmanager holding ${amAlerts.length} alerts (${[...byState].map(([k, v]) => `${k} ${v}`).join(', ')})`);
  log(`${requests} filtered GET /api/v2/alerts in ${wall.toFixed(1)} s (${(requests / wall).toFixed(0)}/s): latency median ${q(0.5).toFixed(1)} ms, p99 ${q(0.99).toFixed(1)} ms, max ${(sorted[sorted.length - 1] ?? 0).toFixed(1)} ms; unanswered ${unanswered}`);
  log(`Alertmanager CPU ${amCpu.toFixed(2)} s for ${requests} requests (${((amCpu / requests) * 1000).toFixed(2)} ms each, ${((amCpu / wall) * 100).toFixed(0)} % of a core); RSS ${((amRss?.rss ?? 0) / MIB).toFixed(0)} MiB`);
  log(`alerts handed to pipelines in round 1: ${handed}; alerts returned for another instance (dropped): ${foreign}`);
  const errors = new Map<string, number>();
  for (const l of pullLog.lines) if (l.level === 'warn') errors.set(String((l as { error?: unknown }).error).slice(0, 160), (errors.get(String((l as { error?: unknown }).error).slice(0, 160)) ?? 0) + 1);
  if (errors.size > 0) log(`pull errors: ${[...errors].map(([e, n]) => `${n}× ${e}`).join('; ')}`);
  };
  await routing(amUrl, am, 'Alertmanager defaults (--web.get-concurrency 0 = max(GOMAXPROCS, 8)), fleet.interval 5s', 5);
  await routing(`http://127.0.0.1:${am2Port}`, amWide, '--web.get-concurrency=64, fleet.interval 15s', 15);
  log(`\nbench:fleet done in ${((performance.now() - started) / 1000).toFixed(0)} s`);
}

let exitCode = 0;
const onSignal = (): void => {
  void runCleanups().then(() => process.exit(130));
};
async function runCleanups(): Promise<void> {
  for (const c of cleanups.reverse()) {
    try {
      await c();
    } catch (error) {
      process.stderr.write(`cleanup: ${error instanceof Error ? error.message : String(error)}\n`);
      exitCode = 1;
    }
  }
  cleanups.length = 0;
}
process.once('SIGINT', onSignal);
process.once('SIGTERM', onSignal);
try {
  await main();
} catch (error) {
  process.stderr.write(`bench:fleet failed: ${error instanceof Error ? error.message : String(error)}\n`);
  exitCode = 1;
} finally {
  await runCleanups();
}
process.exit(exitCode);
