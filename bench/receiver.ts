/**
 * Load run for the remediation receiver (bounded, loopback only): POSTs Alertmanager payloads at a fixed
 * rate (default 1000/s for 30 s) to a receiver on 127.0.0.1:0 in this process, then prints latency
 * percentiles, status counts, the worker's backlog and memory. Not a test: nothing is asserted.
 *
 *   npm run bench:receiver [-- --rate 1000 --seconds 30]
 *
 * The mix: 60 % warnings on /alerts/notify (unique), 20 % critical process alerts on /alerts/remediate
 * naming a PID that does not exist (refused "target_gone" after a snapshot), 10 % repeats of one critical
 * alert (duplicates), 10 % malformed. Nothing can be acted on: signals and writes throw.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { Registry } from 'prom-client';
import { parseConfig } from '../src/config/load.js';
import { createLogger } from '../src/logging/logger.js';
import { CgroupFs } from '../src/procfs/cgroupfs.js';
import { NodeFileReader } from '../src/procfs/file-reader.js';
import { ProcFs } from '../src/procfs/procfs.js';
import { loadCredentials } from '../src/receiver/auth.js';
import { createReceiver } from '../src/receiver/index.js';
import { createRemediation } from '../src/remediation/setup.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
  return v;
}

const RATE = arg('rate', 1000);
const SECONDS = Math.min(arg('seconds', 30), 120);
const TOKEN = 'bench-token';

function alertBody(i: number, kind: 'warning' | 'critical' | 'repeat'): string {
  const fp = (kind === 'repeat' ? 0xbeef : i).toString(16).padStart(16, '0');
  const severity = kind === 'warning' ? 'warning' : 'critical';
  return JSON.stringify({
    version: '4',
    groupKey: '{}:{alertname="Bench"}',
    truncatedAlerts: 0,
    status: 'firing',
    receiver: 'bench',
    groupLabels: { alertname: 'Bench' },
    commonLabels: { alertname: 'Bench' },
    commonAnnotations: {},
    externalURL: 'http://127.0.0.1:9093',
    alerts: [
      {
        status: 'firing',
        labels: { alertname: 'Bench', severity, instance: 'bench:9632', pid: '4194000', start_time: '1765000000.00', comm: 'python3' },
        annotations: { summary: `bench alert ${i}` },
        startsAt: '2025-12-12T03:12:00Z',
        endsAt: '0001-01-01T00:00:00Z',
        generatorURL: 'http://127.0.0.1:9090/graph',
        fingerprint: fp,
      },
    ],
  });
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'headroom-bench-receiver-'));
  writeFileSync(join(dir, 'token'), TOKEN);
  const config = parseConfig(
    { receiver: { enabled: true, host: 'bench', auth: { token_file: join(dir, 'token') }, max_queue: 100_000 }, remediation: { state_dir: join(dir, 'state') } },
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
  const receiver = createReceiver(config, remediation, loadCredentials(config.receiver.auth, {}, (p) => files.readText(p)), { now: () => new Date(), monotonic: () => performance.now() / 1000 }, logger);
  const app = express();
  app.use(receiver.router);
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(0, '127.0.0.1');
    s.once('listening', () => resolve(s));
    s.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const latencies: number[] = [];
  const statuses = new Map<number, number>();
  let errors = 0;
  let maxDepth = 0;
  const rssStart = process.memoryUsage().rss;
  let rssMax = rssStart;

  const send = (i: number): Promise<void> =>
    new Promise((resolve) => {
      const r = i % 10;
      const kind = r < 6 ? 'warning' : r < 8 ? 'critical' : r < 9 ? 'repeat' : 'malformed';
      const body = kind === 'malformed' ? '{"version":"4","alerts":[{' : alertBody(i, kind);
      const path = kind === 'warning' ? '/alerts/notify' : '/alerts/remediate';
      const started = performance.now();
      const req = request(
        { host: '127.0.0.1', port, path, method: 'POST', agent, headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}`, 'content-length': Buffer.byteLength(body) } },
        (res) => {
          res.resume();
          res.on('end', () => {
            latencies.push(performance.now() - started);
            statuses.set(res.statusCode ?? 0, (statuses.get(res.statusCode ?? 0) ?? 0) + 1);
            resolve();
          });
        },
      );
      req.on('error', () => {
        errors += 1;
        resolve();
      });
      req.end(body);
    });

  const total = Math.round(RATE * SECONDS);
  const inflight: Array<Promise<void>> = [];
  const t0 = performance.now();
  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    inflight.push(send(i));
    if (i % 500 === 0) {
      maxDepth = Math.max(maxDepth, receiver.depth);
      rssMax = Math.max(rssMax, process.memoryUsage().rss);
    }
  }
  await Promise.all(inflight);
  const sendSeconds = (performance.now() - t0) / 1000;
  const drainStart = performance.now();
  await receiver.idle();
  const drainSeconds = (performance.now() - drainStart) / 1000;
  rssMax = Math.max(rssMax, process.memoryUsage().rss);

  latencies.sort((a, b) => a - b);
  const q = (p: number): string => (latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? Number.NaN).toFixed(2);
  const mib = (b: number): string => `${(b / 1024 / 1024).toFixed(1)} MiB`;
  process.stdout.write(
    [
      `receiver load: ${latencies.length} requests in ${sendSeconds.toFixed(1)} s (${(latencies.length / sendSeconds).toFixed(0)}/s, target ${RATE}/s for ${SECONDS} s), ${errors} connection errors`,
      `status codes: ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}`,
      `latency ms: p50 ${q(0.5)}  p90 ${q(0.9)}  p99 ${q(0.99)}  max ${q(1)}`,
      `worker: max queue depth ${maxDepth}, drained the rest in ${drainSeconds.toFixed(2)} s; ${notifications} notifications published`,
      `memory: rss start ${mib(rssStart)}, max ${mib(rssMax)}, end ${mib(process.memoryUsage().rss)}; heap used ${mib(process.memoryUsage().heapUsed)}`,
      '',
    ].join('\n'),
  );
  agent.destroy();
  await new Promise<void>((resolve, reject) => {
    server.close((e) => (e ? reject(e) : resolve()));
    server.closeAllConnections();
  });
  remediation.close();
  rmSync(dir, { recursive: true, force: true });
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:receiver failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
