/**
 * `npm run bench:page`: does the status page make scrapes slower?
 *
 * With at least N processes on the machine (idle helpers started and stopped by PID, default 6000), it runs
 * the agent (dist/cli/main.js agent, loopback) twice — page.enabled false, then true — and measures S scrapes
 * of /metrics (after W warm-up): alone, and (page on) while another client fetches / back to back. It prints
 * scrape wall time median and p90 for each case, and the page's own render+transfer time.
 *
 *   npm run bench:page                        # 6000 processes, 30 scrapes
 *   npm run bench:page -- --processes 2000 --scrapes 10
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IdleChildren, stopChild } from './lib/children.js';
import { HEADROOM_MAIN } from './lib/headroom.js';
import { allPids } from './lib/proc.js';
import { freeLoopbackPort, scrapeOnce } from './lib/targets.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} must be a positive integer`);
  return v;
}
const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN;
};
const ms = (s: number): string => `${(s * 1000).toFixed(1)} ms`;

async function startAgent(dir: string, pageEnabled: boolean): Promise<{ child: ChildProcess; url: string }> {
  const port = await freeLoopbackPort();
  const config = join(dir, `agent-${pageEnabled}.yml`);
  writeFileSync(config, `agent: { listen: "127.0.0.1:${port}" }\nremediation: { state_dir: "${join(dir, `state-${pageEnabled}`)}" }\npage: { enabled: ${pageEnabled} }\n`);
  const child = spawn(process.execPath, [HEADROOM_MAIN, 'agent', '--config', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  const url = await new Promise<string>((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => reject(new Error(`agent did not start: ${err}`)), 30_000);
    child.stderr?.on('data', (c: Buffer) => {
      err += c.toString();
      const m = /"msg":"agent listening","url":"([^"]+)"/.exec(err);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once('exit', (code) => reject(new Error(`agent exited ${code}: ${err}`)));
  });
  return { child, url };
}

async function scrapes(url: string, n: number, warmup: number): Promise<number[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const out: number[] = [];
  try {
    for (let i = 0; i < warmup + n; i++) {
      const s = await scrapeOnce(`${url}/metrics`, agent, 30_000);
      if (i >= warmup) out.push(s.seconds);
    }
  } finally {
    agent.destroy();
  }
  return out;
}

async function main(): Promise<void> {
  const target = arg('processes', 6000);
  const n = arg('scrapes', 30);
  const warmup = 3;
  const dir = mkdtempSync(join(tmpdir(), `headroom-people-bench-page-${process.pid}-`));
  let idle: IdleChildren | undefined;
  const running: ChildProcess[] = [];
  const cleanup = async (): Promise<void> => {
    for (const c of running.splice(0)) await stopChild(c, 5000);
    const r = await idle?.stop();
    if (r && r.survivors > 0) console.error(`WARNING: ${r.survivors} idle children survived`);
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
  try {
    const need = Math.max(0, target - allPids().length);
    if (need > 0) {
      console.log(`starting ${need} idle processes…`);
      idle = await IdleChildren.start(need, process.env.HEADROOM_BENCH_PYTHON ?? 'python3', 300_000, (i) => {
        idle = i;
      });
    }
    console.log(`processes on this machine: ${allPids().length}`);
    for (const pageEnabled of [false, true]) {
      const a = await startAgent(dir, pageEnabled);
      running.push(a.child);
      // Let the page's sampler take its first tree sample before measuring.
      await new Promise((r) => setTimeout(r, 2000));
      const alone = await scrapes(a.url, n, warmup);
      console.log(`page.enabled=${pageEnabled}: scrape alone          median ${ms(quantile(alone, 0.5))}, p90 ${ms(quantile(alone, 0.9))} (${n} scrapes)`);
      if (pageEnabled) {
        const solo = new Agent({ keepAlive: true, maxSockets: 1 });
        const pageAlone: number[] = [];
        for (let i = 0; i < warmup + n; i++) {
          const t = (await scrapeOnce(`${a.url}/`, solo, 30_000)).seconds;
          if (i >= warmup) pageAlone.push(t);
        }
        solo.destroy();
        console.log(`page alone (no scrapes): render + transfer median ${ms(quantile(pageAlone, 0.5))}, p90 ${ms(quantile(pageAlone, 0.9))} (${n} fetches)`);
        const pageAgent = new Agent({ keepAlive: true, maxSockets: 1 });
        const pageTimes: number[] = [];
        let stop = false;
        const reader = (async () => {
          while (!stop && pageTimes.length < 10_000) pageTimes.push((await scrapeOnce(`${a.url}/`, pageAgent, 30_000)).seconds);
        })();
        const withPage = await scrapes(a.url, n, warmup);
        stop = true;
        await reader;
        pageAgent.destroy();
        console.log(`page.enabled=${pageEnabled}: scrape while / is fetched median ${ms(quantile(withPage, 0.5))}, p90 ${ms(quantile(withPage, 0.9))} (${n} scrapes, ${pageTimes.length} page fetches back to back)`);
        console.log(`page while scraped (waits for the scrape in progress): median ${ms(quantile(pageTimes, 0.5))}, p90 ${ms(quantile(pageTimes, 0.9))}`);
      }
      await stopChild(a.child, 5000);
      running.splice(running.indexOf(a.child), 1);
    }
  } finally {
    await cleanup();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
});
