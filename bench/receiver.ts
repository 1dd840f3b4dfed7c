/**
 * Load run for the remediation receiver (bounded, loopback only): POSTs Alertmanager payloads at a fixed
 * rate (default 1000/s for 30 s) and prints latency percentiles, status codes, the worker's backlog, and the
 * receiver's memory and CPU. Not a test: nothing is asserted.
 *
 *   npm run bench:receiver [-- --rate 1000 --seconds 30] [--busy-neighbour] [--receiver-node-options "--flag ..." | none]
 *                          [--no-harden-self] [--client-nice N] [--own-sched-groups]
 *
 * --busy-neighbour: one more child spins one core for the whole run (bench/lib/spinner.ts; bounded, stopped by
 * its PID), as a training job next to the agent would.
 *
 * The receiver hardens itself at start as the agent does (src/guard/harden.ts, hardenAgent: guard.harden_self,
 * default true: nice -5, oom_score_adj -900); --no-harden-self runs it with guard.harden_self false.
 * --client-nice N runs the load client at nice N (it stands for Alertmanager, which in production runs on another
 * machine or with its own share, not behind the busy neighbour).
 *
 * --own-sched-groups starts the receiver and the load client each in a session of its own: with the kernel's
 * sched_autogroup (on here), each session is a scheduling group, so CPU is shared between groups first and nice
 * only counts inside one. Without it all three (receiver, client, spinner) share this process's group. With it
 * the receiver is placed as the systemd unit places the agent (a cgroup of its own, CPUWeight=200; here weight
 * 100, so less than deployed) and the client as Alertmanager runs (elsewhere, or with its own share); the
 * spinner is never niced or moved.
 *
 * Besides the client's latency it prints the server-side time (handler called → reply written), the receiver's
 * event-loop delay and GC, and what the scheduler did to the receiver and the client (run and wait time from
 * /proc/PID/schedstat, voluntary and involuntary context switches), so slow replies can be told apart: the
 * receiver's own work, or the receiver (or the client) waiting for a CPU. BENCH_TRACE_DIR=dir: the client and
 * the receiver also write every request's times there (client.json: [seq, sent at (CLOCK_MONOTONIC ms), latency
 * ms, reused socket, status]; server.json: [seq, handler called at, handler ms, client port]) to split a slow
 * reply into before the handler, in it, and after it.
 *
 * Three processes, so the numbers are the receiver's own: this one coordinates and samples the receiver's
 * VmRSS/VmHWM and CPU from /proc; bench/lib/receiver-server.ts runs the real receiver and pipeline with the
 * agent's node flags (AGENT_NODE_FLAGS, as shipped; --receiver-node-options overrides them, "none" for none);
 * bench/lib/receiver-load.ts is the load client. The mix and the safety (nothing can be acted on: signals and
 * writes throw) are described there. Both children are stopped by PID when the run ends or fails.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import { stopChild, waitExit } from './lib/children.js';
import { startSpinner } from './lib/spinner.js';
import { parseNodeOptions } from './lib/headroom.js';
import { readFileSync } from 'node:fs';
import { CLOCK_TICKS_PER_SECOND, residentBytes, schedStats, statTimes, type SchedStats } from './lib/proc.js';
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

const HARDEN = !process.argv.includes('--no-harden-self');
const OWN_GROUPS = process.argv.includes('--own-sched-groups');
const CLIENT_NICE = niceArg();

/** --client-nice N: run the load client at this nice value (Alertmanager runs elsewhere or with its own share). */
function niceArg(): number | undefined {
  const i = process.argv.indexOf('--client-nice');
  if (i < 0) return undefined;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < -20 || v > 19) throw new Error('--client-nice must be an integer from -20 to 19');
  return v;
}

function start(module: string, execArgv: readonly string[], children: ChildProcess[], args: readonly string[] = []): ChildProcess {
  // detached: a session of its own, hence a scheduling group of its own where the kernel has autogroups (below).
  const child = fork(fileURLToPath(new URL(module, import.meta.url)), [...args], { cwd: REPO, execArgv: [...execArgv, '--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'], detached: OWN_GROUPS });
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

/** What the scheduler did to a process over the run (main thread): CPU time, runnable-but-waiting time, switches. */
function schedLine(name: string, a: SchedStats | undefined, b: SchedStats | undefined): string {
  if (a === undefined || b === undefined) return `${name}: scheduler stats n/a`;
  const s = (ns: number): string => (ns / 1e9).toFixed(2);
  return `${name} (nice ${b.nice}, main thread): on CPU ${s(b.runNs - a.runNs)} s, runnable but waiting for a CPU ${s(b.waitNs - a.waitNs)} s; context switches ${b.voluntary - a.voluntary} voluntary, ${b.involuntary - a.involuntary} involuntary (preempted)`;
}

/** The process's autogroup (/proc/PID/autogroup: "/autogroup-N nice K"), or why there is none. */
function autogroup(pid: number | undefined): string {
  if (pid === undefined) return 'n/a';
  try {
    return readFileSync(`/proc/${pid}/autogroup`, 'utf8').trim();
  } catch {
    return 'no autogroup';
  }
}

const loadAverage = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

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
    const server = start('./lib/receiver-server.ts', FLAGS, children, HARDEN ? [] : ['--no-harden-self']);
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
    const load0 = loadAverage();
    const serverSched0 = schedStats(serverPid);
    const load = start('./lib/receiver-load.ts', [], children);
    if (CLIENT_NICE !== undefined && load.pid !== undefined) setPriority(load.pid, CLIENT_NICE);
    const clientSched0 = load.pid === undefined ? undefined : schedStats(load.pid);
    const command: LoadCommand = { type: 'start', port: ready.port, rate: RATE, seconds: SECONDS, token: BENCH_TOKEN };
    load.send(command);
    const result = await next(load, 'load client', isType<LoadResult>('done'), (SECONDS + 300) * 1000);
    const serverSched1 = schedStats(serverPid);
    const clientSched1 = load.pid === undefined ? undefined : schedStats(load.pid);
    const load1 = loadAverage();
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
        `receiver (PID ${serverPid}, node ${FLAGS.join(' ') || '(no flags)'}; guard.harden_self ${HARDEN}: ${ready.hardened.join(', ') || 'nothing'}); load client${CLIENT_NICE !== undefined ? ` at nice ${CLIENT_NICE}` : ''} in its own process (PID ${load.pid ?? '?'})${BUSY ? '; one busy neighbour core (spinner child)' : ''}`,
        `receiver load: ${result.requests} requests in ${result.sendSeconds.toFixed(1)} s (${(result.requests / result.sendSeconds).toFixed(0)}/s, target ${RATE}/s for ${SECONDS} s), ${result.errors} connection errors; client max send lag ${f(result.maxSendLagMs)} ms`,
        `status codes: ${JSON.stringify(result.statuses)}`,
        `latency ms: p50 ${f(result.latencyMs.p50)}  p90 ${f(result.latencyMs.p90)}  p99 ${f(result.latencyMs.p99)}  max ${f(result.latencyMs.max)}`,
        `server side, handler called → reply written, ms: p50 ${f(drained.handlerMs.p50)}  p90 ${f(drained.handlerMs.p90)}  p99 ${f(drained.handlerMs.p99)}  max ${f(drained.handlerMs.max)}`,
        `receiver event-loop delay ms: p50 ${f(drained.loopDelayMs.p50)}  p90 ${f(drained.loopDelayMs.p90)}  p99 ${f(drained.loopDelayMs.p99)}  max ${f(drained.loopDelayMs.max)}; GC ${drained.gc.count}× total ${f(drained.gc.totalMs)} ms, longest ${f(drained.gc.maxMs)} ms`,
        schedLine('receiver', serverSched0, serverSched1),
        schedLine('load client', clientSched0, clientSched1),
        `scheduling groups (sched_autogroup ${(() => {
          try {
            return readFileSync('/proc/sys/kernel/sched_autogroup_enabled', 'utf8').trim() === '1' ? 'on' : 'off';
          } catch {
            return 'n/a';
          }
        })()}): receiver ${autogroup(serverPid)}, load client ${autogroup(load.pid)}, this process and the spinner ${autogroup(process.pid)}`,
        `load average: ${load0} at start, ${load1} at end`,
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
