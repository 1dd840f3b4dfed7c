/**
 * Guard latency under scrape load (part of `npm run bench:replay`): the agent's guard watches a sandbox cgroup
 * (cgroup v1, hard limit ≤ 1 GiB) while N idle processes make every /proc scan big and a scraper GETs /metrics
 * every second. Each round a job inside the sandbox holds just below the guard's line, then crosses it; the job
 * itself records the crossing and the SIGTERM it receives (CLOCK_MONOTONIC, one process: no shared clock
 * needed). Prints p50/p99/max of crossing → SIGTERM. Bounded in rounds and time; everything started is
 * stopped by PID, the sandbox is removed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { dump } from 'js-yaml';
import { IdleChildren, stopChild, waitExit } from './children.js';
import { HEADROOM_MAIN } from './headroom.js';

const JOB = fileURLToPath(new URL('./guard_job.py', import.meta.url));
const V1 = '/sys/fs/cgroup/memory';
const MiB = 1024 * 1024;

export interface GuardLatencyOptions {
  readonly rounds: number;
  readonly processes: number;
  /** Scrape /metrics this often (0: never). */
  readonly scrapeEveryMs: number;
  readonly limitMiB?: number;
  readonly log?: (line: string) => void;
}

export interface GuardLatencyResult {
  readonly samplesMs: readonly number[];
  readonly scrapes: number;
  readonly scrapeMsMax: number;
  readonly processes: number;
  readonly failures: readonly string[];
}

function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? Number.NaN;
}

export function summarize(r: GuardLatencyResult): string {
  const f = (v: number): string => `${v.toFixed(0)} ms`;
  const xs = r.samplesMs;
  return (
    `guard crossing → SIGTERM at ${r.processes} extra processes, /metrics scraped every second (${r.scrapes} scrapes, slowest ${f(r.scrapeMsMax)}): ` +
    (xs.length === 0 ? 'no samples' : `p50 ${f(percentile(xs, 50))}  p99 ${f(percentile(xs, 99))}  max ${f(Math.max(...xs))}  (n=${xs.length})`) +
    (r.failures.length > 0 ? `; ${r.failures.length} failed rounds: ${r.failures.join('; ')}` : '')
  );
}

/** Lines of a child's stdout, awaitable. */
class Lines {
  readonly seen: string[] = [];
  private waiters: Array<() => void> = [];
  constructor(child: ChildProcess) {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (l) => {
      this.seen.push(l);
      for (const w of this.waiters.splice(0)) w();
    });
    child.once('exit', () => {
      for (const w of this.waiters.splice(0)) w();
    });
  }
  async next(re: RegExp, timeoutMs: number, child: ChildProcess): Promise<RegExpExecArray> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      for (const l of this.seen) {
        const m = re.exec(l);
        if (m) return m;
      }
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`exited before ${re}`);
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`no ${re} within ${timeoutMs} ms`);
      await Promise.race([new Promise<void>((r) => this.waiters.push(r)), new Promise((r) => setTimeout(r, Math.min(left, 200)))]);
    }
  }
}

export async function measureGuardLatency(opts: GuardLatencyOptions): Promise<GuardLatencyResult> {
  const log = opts.log ?? (() => undefined);
  const limitMiB = Math.min(opts.limitMiB ?? 320, 1024);
  const name = `headroom-bench-guard-${process.pid}`;
  const dir = join(V1, name);
  const tmp = mkdtempSync(join(tmpdir(), 'headroom-bench-guard-'));
  const children: ChildProcess[] = [];
  let idle: IdleChildren | undefined;
  let scraping = false;
  let scraper: Promise<void> | undefined;
  const samples: number[] = [];
  const failures: string[] = [];
  let scrapes = 0;
  let scrapeMsMax = 0;
  try {
    if (!existsSync(join(V1, 'memory.limit_in_bytes'))) throw new Error(`no cgroup v1 memory controller at ${V1}`);
    mkdirSync(dir);
    writeFileSync(join(dir, 'memory.limit_in_bytes'), String(limitMiB * MiB));
    if (existsSync(join(dir, 'memory.memsw.limit_in_bytes'))) writeFileSync(join(dir, 'memory.memsw.limit_in_bytes'), String(limitMiB * MiB));
    idle = await IdleChildren.start(opts.processes, 'python3', 120_000, () => undefined);
    log(`${idle.count} idle processes started`);
    const config = {
      agent: { listen: '127.0.0.1:0' },
      remediation: { state_dir: join(tmp, 'state'), kill_grace: '2s', min_victim_size: '16M', cooldown: '1ms', actions_per_window: 1000 },
      guard: { enabled: true, watch_cgroup: `/${name}`, available_below: 0.08, sustain: '1ms', harden_self: false },
    };
    writeFileSync(join(tmp, 'headroom.yml'), dump(config));
    const agent = spawn(process.execPath, [HEADROOM_MAIN, 'agent', '--config', join(tmp, 'headroom.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
    children.push(agent);
    let agentLog = '';
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`agent did not start: ${agentLog.slice(-2000)}`)), 30_000);
      agent.stderr?.on('data', (c: Buffer) => {
        agentLog += c.toString();
        const m = /"msg":"agent listening","url":"([^"]+)"/.exec(agentLog);
        if (m?.[1]) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
      agent.once('exit', (code) => reject(new Error(`agent exited (${code}): ${agentLog.slice(-2000)}`)));
    });
    log(`agent ${url} (pid ${agent.pid})`);
    if (opts.scrapeEveryMs > 0) {
      scraping = true;
      scraper = (async () => {
        while (scraping) {
          const t0 = performance.now();
          const res = await fetch(`${url}/metrics`);
          await res.text();
          const ms = performance.now() - t0;
          scrapes += 1;
          scrapeMsMax = Math.max(scrapeMsMax, ms);
          await new Promise((r) => setTimeout(r, Math.max(0, opts.scrapeEveryMs - ms)));
        }
      })();
    }
    for (let round = 1; round <= opts.rounds; round++) {
      const job = spawn('/bin/sh', ['-c', 'echo $$ > "$1" && shift && exec "$@"', 'sh', join(dir, 'cgroup.procs'), 'python3', JOB, dir, '0.905', '0.925'], { stdio: ['pipe', 'pipe', 'inherit'] });
      children.push(job);
      const lines = new Lines(job);
      try {
        await lines.next(/^holding /, 60_000, job);
        // Let the guard settle at its fastest poll next to the line, and a scrape or two pass.
        await new Promise((r) => setTimeout(r, 1500 + Math.random() * 1000));
        job.stdin?.write('go\n');
        const crossed = Number((await lines.next(/^crossed (\d+)$/, 30_000, job))[1]);
        const term = Number((await lines.next(/^sigterm (\d+)$/, 30_000, job))[1]);
        const ms = (term - crossed) / 1e6;
        samples.push(ms);
        await new Promise((r) => setTimeout(r, 200));
        const decisions = [...agentLog.matchAll(/"msg":"guard decision".*?"crossingToDecisionMs":(\d+),"crossingToDoneMs":(\d+)/g)];
        const last = decisions[decisions.length - 1];
        log(`round ${round}: crossing → SIGTERM ${ms.toFixed(1)} ms (agent: its crossing → fired ${last?.[1] ?? '?'} ms, → done ${last?.[2] ?? '?'} ms)`);
      } catch (error) {
        failures.push(`round ${round}: ${error instanceof Error ? error.message : String(error)}`);
      } finally {
        if (!(await waitExit(job, 10_000))) await stopChild(job, 2000);
      }
      // The guard re-arms after the sandbox recovers; give the memory back to the kernel first.
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    scraping = false;
    await scraper?.catch(() => undefined);
    for (const c of children.reverse()) await stopChild(c, 5000);
    await idle?.stop();
    if (existsSync(dir)) {
      const left = readFileSync(join(dir, 'cgroup.procs'), 'utf8').trim();
      if (left === '') rmdirSync(dir);
      else failures.push(`sandbox ${dir} still has processes ${left}`);
    }
    rmSync(tmp, { recursive: true, force: true });
  }
  return { samplesMs: samples, scrapes, scrapeMsMax, processes: opts.processes, failures };
}
