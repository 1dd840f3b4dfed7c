/**
 * The receiver side of `npm run bench:receiver`, run by bench/receiver.ts in its own process (with the agent's
 * node flags): the real receiver and remediation pipeline on 127.0.0.1:0, state in a temporary directory.
 * Nothing can be acted on: signals and writes throw. Talks to its parent over the IPC channel:
 *   → {type:'ready', port}; every 100 ms {type:'depth', depth}; on {type:'drain'} → {type:'drained', ...};
 *   on {type:'close'} it closes everything and exits. It exits by itself when the parent goes away.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance, PerformanceObserver } from 'node:perf_hooks';
import express from 'express';
import { Registry } from 'prom-client';
import { parseConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/logging/logger.js';
import { CgroupFs } from '../../src/procfs/cgroupfs.js';
import { NodeFileReader } from '../../src/procfs/file-reader.js';
import { ProcFs } from '../../src/procfs/procfs.js';
import { loadCredentials } from '../../src/receiver/auth.js';
import { createReceiver } from '../../src/receiver/index.js';
import { createRemediation } from '../../src/remediation/setup.js';
import { systemCalls, yieldToLoop } from '../../src/agent/system.js';
import { hardenAgent } from '../../src/guard/harden.js';
import { BENCH_TOKEN, type Percentiles, type ServerCommand, type ServerMessage } from './receiver-protocol.js';

function percentiles(values: number[]): Percentiles {
  values.sort((a, b) => a - b);
  const q = (p: number): number => values[Math.min(values.length - 1, Math.floor(p * values.length))] ?? Number.NaN;
  return { p50: q(0.5), p90: q(0.9), p99: q(0.99), max: q(1) };
}

function send(message: ServerMessage): void {
  process.send?.(message);
}

async function main(): Promise<void> {
  if (process.send === undefined) throw new Error('run by bench/receiver.ts (needs an IPC channel)');
  const dir = mkdtempSync(join(tmpdir(), 'headroom-bench-receiver-'));
  writeFileSync(join(dir, 'token'), BENCH_TOKEN);
  const config = parseConfig(
    {
      receiver: { enabled: true, host: 'bench', auth: { token_file: join(dir, 'token') }, max_queue: 100_000 },
      remediation: { state_dir: join(dir, 'state') },
      // The shipped default is true; bench/receiver.ts --no-harden-self runs the receiver as if it were false.
      guard: { harden_self: !process.argv.includes('--no-harden-self') },
    },
    'bench',
  );
  const files = new NodeFileReader();
  const proc = new ProcFs('/proc', files);
  const logger = createLogger(process.stderr, () => new Date());
  let notifications = 0;
  const remediation = createRemediation({
    config,
    proc,
    cgroups: new CgroupFs('/sys/fs/cgroup', files),
    files,
    self: { pid: process.pid, ppid: process.ppid },
    host: 'bench',
    actionsEnabled: true,
    now: () => new Date(),
    monotonic: () => performance.now() / 1000,
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    // As the agent wires it: scans and the worker hand the event loop back (src/agent/agent.ts).
    yieldToLoop,
    kill: (pid) => {
      throw new Error(`bench: refusing to signal ${pid}`);
    },
    writeFile: (path) => {
      throw new Error(`bench: refusing to write ${path}`);
    },
    sink: { publish: () => void (notifications += 1) },
    logger,
    registry: new Registry(),
  });
  // As the agent's composition root does at start (src/agent/agent.ts): guard.harden_self raises the agent's CPU
  // priority (nice -5) and lowers its oom_score_adj whenever the receiver or the guard is on.
  const hardened = hardenAgent(config, process.pid, proc, systemCalls, logger);
  const receiver = createReceiver(config, remediation, loadCredentials(config.receiver.auth, {}, (p) => files.readText(p)), { now: () => new Date(), monotonic: () => performance.now() / 1000 }, logger);
  const app = express();
  // Server-side time per request: the handler is called (headers parsed) → the reply is written. The client's
  // latency minus this is time the request spent in the kernel, in the client, or waiting for this process's
  // event loop (descheduled, GC, other work).
  const handlerMs: number[] = [];
  const trace: Array<[number, number, number, number]> | undefined = process.env.BENCH_TRACE_DIR ? [] : undefined;
  app.use((_req, res, next) => {
    const started = performance.now();
    const startedHr = Number(process.hrtime.bigint()) / 1e6;
    res.once('finish', () => {
      handlerMs.push(performance.now() - started);
      if (trace) trace.push([Number(_req.headers['x-bench-seq'] ?? -1), startedHr, performance.now() - started, _req.socket.remotePort ?? 0]);
    });
    next();
  });
  app.use(receiver.router);
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const gc = { count: 0, totalMs: 0, maxMs: 0 };
  const gcObserver = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      gc.count += 1;
      gc.totalMs += entry.duration;
      gc.maxMs = Math.max(gc.maxMs, entry.duration);
    }
  });
  gcObserver.observe({ entryTypes: ['gc'] });
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(0, '127.0.0.1');
    s.once('listening', () => resolve(s));
    s.once('error', reject);
  });
  const depthTimer = setInterval(() => send({ type: 'depth', depth: receiver.depth }), 100);
  const close = async (): Promise<void> => {
    clearInterval(depthTimer);
    await new Promise<void>((resolve, reject) => {
      server.close((e) => (e ? reject(e) : resolve()));
      server.closeAllConnections();
    });
    remediation.close();
    rmSync(dir, { recursive: true, force: true });
    process.disconnect();
  };
  process.on('disconnect', () => {
    // The parent is gone (or we are done): stop serving; the state directory is ours to remove.
    clearInterval(depthTimer);
    server.close();
    server.closeAllConnections();
    rmSync(dir, { recursive: true, force: true });
  });
  process.on('message', (message: ServerCommand) => {
    if (message.type === 'drain') {
      const start = performance.now();
      loopDelay.disable();
      gcObserver.disconnect();
      // The histogram records the time between its timer's runs: minus the 10 ms resolution is the delay.
      const ms = (ns: number): number => Math.max(0, ns / 1e6 - 10);
      const loopDelayMs: Percentiles = { p50: ms(loopDelay.percentile(50)), p90: ms(loopDelay.percentile(90)), p99: ms(loopDelay.percentile(99)), max: ms(loopDelay.max) };
      const handler = percentiles(handlerMs);
      if (trace && process.env.BENCH_TRACE_DIR) writeFileSync(`${process.env.BENCH_TRACE_DIR}/server.json`, JSON.stringify(trace));
      receiver.idle().then(
        () => send({ type: 'drained', drainSeconds: (performance.now() - start) / 1000, notifications, heapUsedBytes: process.memoryUsage().heapUsed, handlerMs: handler, loopDelayMs, gc: { ...gc } }),
        (error: unknown) => fail(error),
      );
    } else if (message.type === 'close') {
      close().catch(fail);
    }
  });
  send({ type: 'ready', port: (server.address() as AddressInfo).port, hardened });
}

function fail(error: unknown): void {
  process.stderr.write(`bench receiver server failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
}

main().catch(fail);
