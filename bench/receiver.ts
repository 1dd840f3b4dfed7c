/**
 * Load run for the remediation receiver (bounded, loopback only): POSTs Alertmanager payloads at a fixed
 * rate (default 1000/s for 30 s) and prints latency percentiles, status codes, the worker's backlog, and the
 * receiver's memory and CPU. Not a test: nothing is asserted.
 *
 *   npm run bench:receiver [-- --rate 1000 --seconds 30] [--busy-neighbour] [--receiver-node-options "--flag ..." | none]
 *
 * --busy-neighbour: one more child spins one core for the whole run (bench/lib/spinner.ts; bounded, stopped by
 * its PID), as a training job next to the agent would.
 *
 * Three processes, so the numbers are the receiver's own: this one coordinates and samples the receiver's
 * VmRSS/VmHWM and CPU from /proc; bench/lib/receiver-server.ts runs the real receiver and pipeline with the
 * agent's node flags (AGENT_NODE_FLAGS, as shipped; --receiver-node-options overrides them, "none" for none);
 * bench/lib/receiver-load.ts is the load client. The mix and the safety (nothing can be acted on: signals and
 * writes throw) are described there. Both children are stopped by PID when the run ends or fails.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { stopChild, waitExit } from './lib/children.js';
import { startSpinner } from './lib/spinner.js';
import { parseNodeOptions } from './lib/headroom.js';
import { CLOCK_TICKS_PER_SECOND, residentBytes, statTimes } from './lib/proc.js';
import { BENCH_TOKEN, type LoadCommand, type LoadResult, type ServerCommand, type ServerMessage } from './lib/receiver-protocol.js';
import { AGENT_NODE_FLAGS } from '../src/agent/node-flags.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const MIB = 1024 * 1024;

function numberArg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
  return v;
}

function nodeFlags(): readonly string[] {
  const i = process.argv.indexOf('--receiver-node-options');
  if (i < 0) return AGENT_NODE_FLAGS;
  const value = process.argv[i + 1];
  if (value === undefined) throw new Error('--receiver-node-options needs a value ("--flag ..." or none)');
  return parseNodeOptions('--receiver-node-options', value);
}

const RATE = numberArg('rate', 1000);
const BUSY = process.argv.includes('--busy-neighbour');
const SECONDS = Math.min(numberArg('seconds', 30), 120);
const FLAGS = nodeFlags();

function start(module: string, execArgv: readonly string[], children: ChildProcess[]): ChildProcess {
  const child = fork(fileURLToPath(new URL(module, import.meta.url)), [], { cwd: REPO, execArgv: [...execArgv, '--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.push(child);
  return child;
}

function next<T>(child: ChildProcess, what: string, accept: (m: unknown) => m is T, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`${what}: no answer within ${timeoutMs} ms`)), timeoutMs);
    const onMessage = (m: unknown): void => {
      if (accept(m)) done(undefined, m);
    };
    const onExit = (code: number | null, signal: string | null): void => done(new Error(`${what}: the process exited (code ${code}, signal ${signal})`));
    const done = (error: Error | undefined, value?: T): void => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (error) reject(error);
      else resolve(value as T);
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

const isType =
  <T extends { type: string }>(type: T['type']) =>
  (m: unknown): m is T =>
    typeof m === 'object' && m !== null && (m as { type?: unknown }).type === type;

async function main(): Promise<void> {
  const children: ChildProcess[] = [];
  const stopAll = async (): Promise<void> => {
    await Promise.all(children.map((c) => stopChild(c, 5000)));
  };
  const onSignal = (): void => {
    stopAll().then(
      () => process.exit(130),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const server = start('./lib/receiver-server.ts', FLAGS, children);
    const ready = await next(server, 'receiver start', isType<Extract<ServerMessage, { type: 'ready' }>>('ready'), 60_000);
    const serverPid = server.pid ?? 0;
    let maxDepth = 0;
    server.on('message', (m: unknown) => {
      if (isType<Extract<ServerMessage, { type: 'depth' }>>('depth')(m)) maxDepth = Math.max(maxDepth, m.depth);
    });
    const rssStart = residentBytes(serverPid)?.rss ?? Number.NaN;
    let rssMax = rssStart;
    const sampler = setInterval(() => {
      rssMax = Math.max(rssMax, residentBytes(serverPid)?.rss ?? 0);
    }, 100);
    if (BUSY) children.push(startSpinner(SECONDS + 120));
    const cpu0 = statTimes(serverPid)?.cpuTicks ?? Number.NaN;
    const load = start('./lib/receiver-load.ts', [], children);
    const command: LoadCommand = { type: 'start', port: ready.port, rate: RATE, seconds: SECONDS, token: BENCH_TOKEN };
    load.send(command);
    const result = await next(load, 'load client', isType<LoadResult>('done'), (SECONDS + 300) * 1000);
    server.send({ type: 'drain' } satisfies ServerCommand);
    const drained = await next(server, 'receiver drain', isType<Extract<ServerMessage, { type: 'drained' }>>('drained'), 600_000);
    clearInterval(sampler);
    const cpuSeconds = ((statTimes(serverPid)?.cpuTicks ?? Number.NaN) - cpu0) / CLOCK_TICKS_PER_SECOND;
    const mem = residentBytes(serverPid);
    rssMax = Math.max(rssMax, mem?.rss ?? 0);
    server.send({ type: 'close' } satisfies ServerCommand);
    const mib = (b: number | undefined): string => (b === undefined ? 'n/a' : `${(b / MIB).toFixed(1)} MiB`);
    const f = (ms: number): string => ms.toFixed(2);
    process.stdout.write(
      [
        `receiver (PID ${serverPid}, node ${FLAGS.join(' ') || '(no flags)'}); load client in its own process (PID ${load.pid ?? '?'})${BUSY ? '; one busy neighbour core (spinner child)' : ''}`,
        `receiver load: ${result.requests} requests in ${result.sendSeconds.toFixed(1)} s (${(result.requests / result.sendSeconds).toFixed(0)}/s, target ${RATE}/s for ${SECONDS} s), ${result.errors} connection errors; client max send lag ${f(result.maxSendLagMs)} ms`,
        `status codes: ${JSON.stringify(result.statuses)}`,
        `latency ms: p50 ${f(result.latencyMs.p50)}  p90 ${f(result.latencyMs.p90)}  p99 ${f(result.latencyMs.p99)}  max ${f(result.latencyMs.max)}`,
        `worker: max queue depth ${maxDepth}, drained the rest in ${drained.drainSeconds.toFixed(2)} s; ${drained.notifications} notifications published`,
        `receiver CPU: ${cpuSeconds.toFixed(1)} s over the run`,
        `receiver memory: rss start ${mib(rssStart)}, max ${mib(rssMax)} (VmHWM ${mib(mem?.peak)}), end ${mib(mem?.rss)}; heap used after drain ${mib(drained.heapUsedBytes)}`,
        '',
      ].join('\n'),
    );
    await Promise.all([waitExit(server, 10_000), waitExit(load, 10_000)]);
  } finally {
    await stopAll();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:receiver failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
