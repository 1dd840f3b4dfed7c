import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { World } from '../../src/domain/world.js';
import { parseConfig } from '../../src/config/load.js';
import type { HeadroomConfig } from '../../src/config/schema.js';
import { memoryLogger } from '../../src/logging/logger.js';
import { CgroupFs } from '../../src/procfs/cgroupfs.js';
import { NodeFileReader } from '../../src/procfs/file-reader.js';
import { ProcFs } from '../../src/procfs/procfs.js';
import { mountPeople, type MountedPeople } from '../../src/web/mount.js';
import { timers as realTimers } from '../../src/agent/system.js';

export function testWorld(): World & { logger: ReturnType<typeof memoryLogger> } {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: {},
    logger: memoryLogger(),
    now: () => new Date(),
    monotonic: () => performance.now() / 1000,
    pid: process.pid,
    ppid: process.ppid,
    version: 'test',
    stopSignal: new Promise(() => undefined),
  };
}

/** mountPeople on a real express app listening on 127.0.0.1, reading the real /proc and cgroups. */
export async function startPage(raw: Record<string, unknown>, listenHost = '127.0.0.1'): Promise<{ url: string; people: MountedPeople; config: HeadroomConfig; close: () => Promise<void>; world: ReturnType<typeof testWorld> }> {
  const config = parseConfig(raw, 'test');
  const files = new NodeFileReader();
  const world = testWorld();
  const people = mountPeople(config, world, { proc: new ProcFs('/proc', files), cgroups: new CgroupFs('/sys/fs/cgroup', files), files }, undefined, listenHost, { host: 'test-host', timers: realTimers });
  const app = express();
  app.get('/', people.home);
  app.use(people.router);
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  people.start(url);
  return {
    url,
    people,
    config,
    world,
    close: async () => {
      people.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * A process outside this test's process tree (setsid -f: its own session, parent init), so that it is its
 * own tree on the page. Resolves with its PID once it runs; kill() stops it by that PID (checking its start
 * time, so a reused PID is never hit) and waits until it is gone. The PID is the first "pid N" it prints.
 */
export async function spawnDetached(args: readonly string[], timeoutMs = 20_000): Promise<{ pid: number; kill: (signal?: NodeJS.Signals, waitMs?: number) => Promise<boolean> }> {
  const { spawn } = await import('node:child_process');
  const { readFileSync } = await import('node:fs');
  const child = spawn('setsid', ['-f', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const pid = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no pid from ${args.join(' ')}: ${out}`)), timeoutMs);
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /pid (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
  });
  const startOf = (p: number): string | undefined => {
    try {
      return readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]?.split(' ')[19];
    } catch {
      return undefined;
    }
  };
  const start = startOf(pid);
  return {
    pid,
    /** true when the process is gone afterwards. */
    kill: async (signal: NodeJS.Signals = 'SIGKILL', waitMs = 5000) => {
      if (start === undefined || startOf(pid) !== start) return true;
      process.kill(pid, signal);
      for (let i = 0; i < waitMs / 50 && startOf(pid) === start; i++) await new Promise((r) => setTimeout(r, 50));
      return startOf(pid) !== start;
    },
  };
}
