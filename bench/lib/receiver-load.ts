/**
 * The load client of `npm run bench:receiver`, run by bench/receiver.ts in its own process so that the
 * latencies measure the receiver, not the client's own event loop. On {type:'start', port, rate, seconds} it
 * POSTs Alertmanager payloads at that fixed rate (loopback only, bounded by rate × seconds), then answers
 * {type:'done', ...} with the latency percentiles and status counts, and exits when the parent disconnects.
 *
 * The mix: 60 % warnings on /alerts/notify (unique), 20 % critical process alerts on /alerts/remediate naming a
 * PID that does not exist (refused "target_gone" after a snapshot), 10 % repeats of one critical alert
 * (duplicates), 10 % malformed.
 */
import { Agent, request } from 'node:http';
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { LoadCommand, LoadResult } from './receiver-protocol.js';

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

async function run(cmd: LoadCommand): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let errors = 0;
  let maxSendLagMs = 0;
  const trace: Array<[number, number, number, number, number]> | undefined = process.env.BENCH_TRACE_DIR ? [] : undefined;
  const send = (i: number): Promise<void> =>
    new Promise((resolve) => {
      const r = i % 10;
      const kind = r < 6 ? 'warning' : r < 8 ? 'critical' : r < 9 ? 'repeat' : 'malformed';
      const body = kind === 'malformed' ? '{"version":"4","alerts":[{' : alertBody(i, kind);
      const path = kind === 'warning' ? '/alerts/notify' : '/alerts/remediate';
      const started = performance.now();
      const startedHr = Number(process.hrtime.bigint()) / 1e6;
      const req = request(
        { host: '127.0.0.1', port: cmd.port, path, method: 'POST', agent, headers: { 'content-type': 'application/json', authorization: `Bearer ${cmd.token}`, 'content-length': Buffer.byteLength(body), 'x-bench-seq': String(i) } },
        (res) => {
          res.resume();
          res.on('end', () => {
            latencies.push(performance.now() - started);
            if (trace) trace.push([i, startedHr, performance.now() - started, req.reusedSocket ? 1 : 0, res.statusCode ?? 0]);
            const code = String(res.statusCode ?? 0);
            statuses[code] = (statuses[code] ?? 0) + 1;
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
  const total = Math.round(cmd.rate * cmd.seconds);
  const inflight: Array<Promise<void>> = [];
  const t0 = performance.now();
  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1000) / cmd.rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    maxSendLagMs = Math.max(maxSendLagMs, performance.now() - due);
    inflight.push(send(i));
  }
  await Promise.all(inflight);
  const sendSeconds = (performance.now() - t0) / 1000;
  agent.destroy();
  if (trace && process.env.BENCH_TRACE_DIR) writeFileSync(`${process.env.BENCH_TRACE_DIR}/client.json`, JSON.stringify(trace));
  latencies.sort((a, b) => a - b);
  const q = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? Number.NaN;
  return { type: 'done', requests: latencies.length, sendSeconds, errors, statuses, latencyMs: { p50: q(0.5), p90: q(0.9), p99: q(0.99), max: q(1) }, maxSendLagMs };
}

if (process.send === undefined) {
  process.stderr.write('run by bench/receiver.ts (needs an IPC channel)\n');
  process.exitCode = 2;
} else {
  process.on('disconnect', () => process.exit(0));
  process.once('message', (cmd: LoadCommand) => {
    run(cmd).then(
      (result) => process.send?.(result),
      (error: unknown) => {
        process.stderr.write(`bench load client failed: ${error instanceof Error ? error.stack : String(error)}\n`);
        process.exit(1);
      },
    );
  });
}
