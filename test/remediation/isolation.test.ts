import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { sleep, yieldToLoop } from '../../src/agent/system.js';
import type { Action } from '../../src/actions/action.js';
import { ACTIONS } from '../../src/actions/index.js';
import { createCollectors } from '../../src/collectors/index.js';
import { CollectorRunner } from '../../src/collectors/runner.js';
import { parseConfig } from '../../src/config/load.js';
import { runGuard } from '../../src/guard/guard.js';
import type { GuardReading } from '../../src/guard/reading.js';
import { memoryLogger } from '../../src/logging/logger.js';
import type { Snapshot } from '../../src/policy/types.js';
import { CgroupFs } from '../../src/procfs/cgroupfs.js';
import { NodeFileReader, type FileReader } from '../../src/procfs/file-reader.js';
import { ProcessTable } from '../../src/procfs/process-table.js';
import { ProcFs } from '../../src/procfs/procfs.js';
import { loadCredentials } from '../../src/receiver/auth.js';
import { createReceiver } from '../../src/receiver/index.js';
import { guardTrigger } from '../../src/remediation/pipeline.js';
import { createRemediation } from '../../src/remediation/setup.js';
import { LiveSnapshotReader, yieldingReader, type SnapshotReader } from '../../src/remediation/snapshot.js';
import { fixture, fixtureTreeFs } from '../support/fixtures.js';
import { alert, fingerprint, memorySink, payload, post, TOKEN } from '../receiver/harness.js';

/**
 * Issue 10, defect 3: the guard and the receiver's accept path must not wait behind a /proc scan on the one
 * event loop. Outcomes, not times: the guard acts, and a webhook post is answered, while a scan of a large
 * (synthetic) process table is still in progress.
 */
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function dir(): string {
  const d = mkdtempSync(join(tmpdir(), 'headroom-core-isolation-'));
  dirs.push(d);
  return d;
}

const PROC = fixture('proc');
const SYNTHETIC = 60_000;
const FIRST = 100_000;

/** The fixture /proc plus SYNTHETIC tiny processes (stat only: their other files read as gone). */
function bigProc(): FileReader {
  const real = new NodeFileReader();
  const synthetic = (path: string): number | undefined => {
    const m = new RegExp(`^${PROC}/(\\d+)/`).exec(path);
    const pid = m ? Number(m[1]) : undefined;
    return pid !== undefined && pid >= FIRST ? pid : undefined;
  };
  const gone = (path: string): Error => Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
  return {
    readText: (p) => {
      if (synthetic(p) !== undefined) throw gone(p);
      return real.readText(p);
    },
    readBytes: (p) => {
      const pid = synthetic(p);
      if (pid === undefined) return real.readBytes(p);
      if (!p.endsWith('/stat')) throw gone(p);
      return Buffer.from(`${pid} (idle) S 1 ${pid} ${pid} 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 ${pid} 1000000 1 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n`);
    },
    readOptional: (p) => (synthetic(p) !== undefined ? undefined : real.readOptional(p)),
    listDir: (p) => (p === PROC ? [...real.listDir(p), ...Array.from({ length: SYNTHETIC }, (_, i) => String(FIRST + i))] : real.listDir(p)),
    listSubdirs: (p) => real.listSubdirs(p),
    readLink: (p) => real.readLink(p),
  };
}

function pressured(at: Date): Snapshot {
  const job = { pid: 4242, ppid: 4000, pgrp: 4242, session: 4242, comm: 'python3', state: 'R', isKernelThread: false, residentBytes: 8 * 2 ** 30, virtualBytes: 9 * 2 ** 30, cpuSeconds: 1, startTicks: 1, startTimeSeconds: 1 };
  return {
    at,
    memory: { totalBytes: 16 * 2 ** 30, availableBytes: 2 ** 26, usedRatio: 0.996, scope: 'host' },
    hostMemTotalBytes: 16 * 2 ** 30,
    processes: new ProcessTable([job]),
    details: { get: (pid) => (pid === 4242 ? { cmdline: ['python3', 'train.py'], oomScoreAdj: 0, uid: 1000, cgroup: '/user.slice' } : undefined) },
    self: { pid: 999_998, ppid: 999_997 },
  };
}

function remediation(snapshots: SnapshotReader, act: Action, state: string, extra: Record<string, unknown> = {}): ReturnType<typeof createRemediation> {
  const files = new NodeFileReader();
  return createRemediation({
    config: parseConfig({ receiver: { enabled: true, auth: { token_file: join(state, 'token') } }, remediation: { state_dir: state, min_victim_size: '1K', ...extra } }, 'test'),
    proc: new ProcFs('/proc', files),
    cgroups: new CgroupFs(join(state, 'no-cgroupfs'), files),
    files,
    self: { pid: 1, ppid: 0 },
    host: 'isolation-test',
    actionsEnabled: true,
    now: () => new Date(),
    monotonic: () => performance.now() / 1000,
    sleep: (ms) => sleep(ms),
    yieldToLoop,
    kill: () => {
      throw new Error('test: nothing may be signalled');
    },
    writeFile: () => {
      throw new Error('test: nothing may be written');
    },
    sink: memorySink(),
    logger: memoryLogger(),
    registry: new Registry(),
    snapshots,
    actions: { ...ACTIONS, stop_process_tree: act },
  });
}

describe('the guard and the receiver never wait behind a /proc scan', () => {
  it('the guard fires and acts while a scrape of a big process table is still scanning', async () => {
    const config = parseConfig({ agent: { procfs: PROC, cgroupfs: fixture('cgroup-v1'), passwd: fixture('etc', 'passwd') } }, 'test');
    const files = bigProc();
    const runner = new CollectorRunner(createCollectors(fixtureTreeFs()), { config, proc: new ProcFs(PROC, files), cgroups: new CgroupFs(config.agent.cgroupfs, files), files }, () => performance.now() / 1000, () => undefined);
    let scrapeDone = false;
    let scrapeDoneWhenActed: boolean | undefined;
    const state = dir();
    const r = remediation({ read: () => pressured(new Date()) }, {
      name: 'stop_process_tree',
      run: (plan, env) => {
        scrapeDoneWhenActed = scrapeDone;
        return Promise.resolve({ action: 'stop_process_tree', dryRun: env.dryRun, result: 'success', detail: 'test', before: {}, after: {}, durationSeconds: 0, signalled: [], remaining: [] });
      },
    }, state);
    const controller = new AbortController();
    let polls = 0;
    const low: GuardReading = { memory: { totalBytes: 100, availableBytes: 1, usedRatio: 0.99, scope: 'host' }, availableRatio: 0.01 };
    const fine: GuardReading = { ...low, availableRatio: 0.5 };
    const acted = new Promise<string>((resolve) => {
      // The loop starts after the scrape: its first poll can only run when the scan hands the loop back.
      const scrape = runner.scrapeYielding(yieldToLoop).then((result) => {
        scrapeDone = true;
        return result;
      });
      void runGuard(
        {
          read: () => (++polls >= 3 ? low : fine),
          settings: { availableBelow: 0.05, sustainMs: 1, psiFullAbove: 0.5, psiSustainMs: 5000, minIntervalMs: 1, maxIntervalMs: 1 },
          monotonicMs: () => performance.now(),
          now: () => new Date(),
          sleep,
          remediate: async (c) => {
            const d = await r.pipeline.handle(guardTrigger({ at: c.crossedAt }), { urgent: true });
            controller.abort();
            resolve(d.kind === 'refusal' ? `refusal ${d.reasonCode}: ${d.reason}` : d.kind);
          },
          logger: memoryLogger(),
        },
        controller.signal,
      );
      scrape.then(
        (result) => expect(result.families.find((f) => f.name === 'headroom_processes')?.samples[0]?.value ?? SYNTHETIC).toBeGreaterThanOrEqual(SYNTHETIC),
        () => undefined,
      );
    });
    expect(await acted).toBe('action');
    expect(scrapeDoneWhenActed).toBe(false);
    for (let i = 0; i < 200 && !scrapeDone; i++) await sleep(20);
    expect(scrapeDone).toBe(true);
    r.close();
  }, 60_000);

  it("a webhook post is accepted (200) while the pipeline's worker is still scanning for an earlier alert", async () => {
    const state = dir();
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(state, 'token'), TOKEN);
    const files = bigProc();
    const live = new LiveSnapshotReader(new ProcFs(PROC, files), new CgroupFs(fixture('cgroup-v1'), files), files, { pid: 1, ppid: 0 }, () => new Date());
    let scanning = false;
    let scans = 0;
    const inner = yieldingReader(live, yieldToLoop);
    const reader: SnapshotReader = {
      read: async (req) => {
        scanning = true;
        scans += 1;
        try {
          return await inner.read(req);
        } finally {
          scanning = false;
        }
      },
    };
    const r = remediation(reader, ACTIONS.stop_process_tree, state);
    const receiver = createReceiver(r.pipeline === undefined ? (undefined as never) : parseConfig({ receiver: { enabled: true, auth: { token_file: join(state, 'token') } }, remediation: { state_dir: state } }, 'test'), r, loadCredentials({ token_file: join(state, 'token') }, {}, (p) => new NodeFileReader().readText(p)), { now: () => new Date(), monotonic: () => performance.now() / 1000 }, memoryLogger());
    const app = express();
    app.use(receiver.router);
    const server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const warning = (): Record<string, unknown> => alert({ alertname: 'HeadroomHostMemoryHigh', severity: 'warning' }, { fp: fingerprint() });
      const first = await post(url, payload([warning()]), `Bearer ${TOKEN}`, 'notify');
      expect(first.status, JSON.stringify(first.json)).toBe(200);
      for (let i = 0; i < 500 && !scanning; i++) await sleep(1);
      expect(scanning).toBe(true);
      const second = await post(url, payload([warning()]), `Bearer ${TOKEN}`, 'notify');
      const stillScanning = scanning && scans === 1;
      expect(second.status).toBe(200);
      expect(stillScanning).toBe(true);
      await receiver.idle();
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      r.close();
    }
  }, 60_000);
});
