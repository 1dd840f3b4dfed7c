import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { Registry } from 'prom-client';
import { parseConfig } from '../../src/config/load.js';
import { memoryLogger } from '../../src/logging/logger.js';
import type { Notification, NotificationSink } from '../../src/notify/events.js';
import { CgroupFs } from '../../src/procfs/cgroupfs.js';
import { NodeFileReader } from '../../src/procfs/file-reader.js';
import { scanProcesses, startTimeLabel } from '../../src/procfs/process-table.js';
import { ProcFs } from '../../src/procfs/procfs.js';
import { hasCredentials, loadCredentials } from '../../src/receiver/auth.js';
import { createReceiver } from '../../src/receiver/index.js';
import type { Receiver } from '../../src/receiver/receiver.js';
import { createRemediation, type Remediation } from '../../src/remediation/setup.js';

export const files = new NodeFileReader();
export const proc = new ProcFs('/proc', files);
export const TOKEN = 's3cret-token-for-tests';

/** A tree the test owns: sh with two sleeping children. */
export interface OwnedTree {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly startTime: string;
  readonly pids: number[];
}

export function identity(pid: number): { startTime: string; alive: boolean } {
  const table = scanProcesses(proc, proc.stat().bootTimeSeconds, () => undefined);
  const e = table.byPid.get(pid);
  return { startTime: e ? startTimeLabel(e) : '', alive: e !== undefined && e.state !== 'Z' };
}

export function descendants(pid: number): number[] {
  const table = scanProcesses(proc, proc.stat().bootTimeSeconds, () => undefined);
  return table
    .subtree(pid)
    .filter((e) => e.state !== 'Z')
    .map((e) => e.pid);
}

/** Spawns `sh -c 'sleep 300 & sleep 300 & wait' [marker]` and waits until both children run. */
export async function spawnTree(marker = 'headroom-test-tree', script = 'sleep 300 & sleep 300 & wait'): Promise<OwnedTree> {
  const child = spawn('sh', ['-c', script, marker], { stdio: 'ignore' });
  const pid = child.pid;
  if (pid === undefined) throw new Error('spawn failed');
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; ) {
    const pids = descendants(pid);
    if (pids.length >= 3) return { child, pid, startTime: identity(pid).startTime, pids };
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('tree did not start');
}

/** Kills what is left of trees the test started, by PID only. */
export function cleanup(trees: readonly OwnedTree[]): void {
  for (const t of trees) {
    for (const pid of t.pids) {
      try {
        if (identity(pid).alive) process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

export function memorySink(): NotificationSink & { items: Notification[] } {
  const items: Notification[] = [];
  return { items, publish: (n) => items.push(n) };
}

export interface Harness {
  readonly url: string;
  readonly dir: string;
  readonly receiver: Receiver;
  readonly remediation: Remediation;
  readonly sink: ReturnType<typeof memorySink>;
  readonly registry: Registry;
  /** PIDs the kill function was asked to signal. */
  readonly killed: Array<{ pid: number; signal: string }>;
  close(): Promise<void>;
}

/**
 * A receiver on 127.0.0.1:0 over the real /proc, with a state dir in a temp directory. The kill function
 * refuses any PID not in `allowed()` (defence in depth: tests must only ever signal their own processes).
 */
export async function startHarness(opts: {
  allowed: () => ReadonlySet<number>;
  remediation?: Record<string, unknown>;
  receiver?: Record<string, unknown>;
  dir?: string;
  withToken?: boolean;
}): Promise<Harness> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'headroom-receiver-'));
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, `${TOKEN}\n`);
  const config = parseConfig(
    {
      // The tests' alerts fire far below real thresholds; keep the config's own consistency rules satisfied.
      thresholds: { host_memory_critical: 0.9995 },
      receiver: { enabled: true, host: 'test-host', auth: opts.withToken === false ? {} : { token_file: tokenFile }, ...opts.receiver },
      remediation: {
        state_dir: join(dir, 'state'),
        min_victim_size: '1K',
        kill_grace: '2s',
        cooldown: '1ms',
        actions_per_window: 1000,
        recovered: { process_tree_share_below: 0.000001, host_used_below: 0.999 },
        ...opts.remediation,
      },
    },
    'test',
  );
  const killed: Array<{ pid: number; signal: string }> = [];
  const registry = new Registry();
  const sink = memorySink();
  const logger = memoryLogger();
  const creds = loadCredentials(config.receiver.auth, {}, (p) => files.readText(p));
  const remediation = createRemediation({
    config,
    proc,
    cgroups: new CgroupFs('/sys/fs/cgroup', files),
    files,
    self: { pid: process.pid, ppid: process.ppid },
    host: 'test-host',
    actionsEnabled: hasCredentials(creds),
    now: () => new Date(),
    monotonic: () => performance.now() / 1000,
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    kill: (pid, signal) => {
      killed.push({ pid, signal });
      if (!opts.allowed().has(pid)) throw new Error(`test safety: refusing to signal PID ${pid}, not started by this test`);
      process.kill(pid, signal);
    },
    writeFile: (path) => {
      throw new Error(`test safety: no writes expected (${path})`);
    },
    sink,
    logger,
    registry,
  });
  const receiver = createReceiver(config, remediation, creds, { now: () => new Date(), monotonic: () => performance.now() / 1000 }, logger);
  const app = express();
  app.use(receiver.router);
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(0, '127.0.0.1');
    s.once('listening', () => resolve(s));
    s.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    dir,
    receiver,
    remediation,
    sink,
    registry,
    killed,
    close: async () => {
      await new Promise<void>((resolve, reject) => {
        server.close((e) => (e ? reject(e) : resolve()));
        server.closeAllConnections();
      });
      await receiver.idle();
      remediation.close();
    },
  };
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

let counter = 0;
/** A unique 16-hex fingerprint per call (tests only). */
export function fingerprint(): string {
  counter += 1;
  return (Date.now().toString(16) + counter.toString(16).padStart(6, '0')).slice(-16).padStart(16, '0');
}

export function alert(labels: Record<string, string>, o: { status?: 'firing' | 'resolved'; fp?: string; startsAt?: string } = {}): Record<string, unknown> {
  return {
    status: o.status ?? 'firing',
    labels: { alertname: 'HeadroomProcessTreeCritical', severity: 'critical', instance: 'test-host:9632', ...labels },
    annotations: { summary: 'process tree above 80% of memory' },
    startsAt: o.startsAt ?? '2025-12-12T03:12:00.123456789Z',
    endsAt: o.status === 'resolved' ? '2025-12-12T03:13:00Z' : '0001-01-01T00:00:00Z',
    generatorURL: 'http://prometheus:9090/graph',
    fingerprint: o.fp ?? fingerprint(),
  };
}

export function payload(alerts: Array<Record<string, unknown>>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    version: '4',
    groupKey: '{}:{alertname="HeadroomProcessTreeCritical"}',
    truncatedAlerts: 0,
    status: 'firing',
    receiver: 'headroom-remediate',
    groupLabels: { alertname: 'HeadroomProcessTreeCritical' },
    commonLabels: { alertname: 'HeadroomProcessTreeCritical' },
    commonAnnotations: {},
    externalURL: 'http://alertmanager:9093',
    alerts,
    ...extra,
  };
}

export async function post(url: string, body: unknown, auth: string | null = `Bearer ${TOKEN}`, route = 'remediate'): Promise<{ status: number; json: unknown }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (auth !== null) headers.authorization = auth;
  const res = await fetch(`${url}/alerts/${route}`, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  let json: unknown = text;
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, json };
}
