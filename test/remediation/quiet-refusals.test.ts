import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { readAuditLog } from '../../src/audit/audit-log.js';
import { parseConfig } from '../../src/config/load.js';
import { memoryLogger } from '../../src/logging/logger.js';
import { CgroupFs } from '../../src/procfs/cgroupfs.js';
import type { Snapshot } from '../../src/policy/types.js';
import { ProcessTable, type ProcessEntry } from '../../src/procfs/process-table.js';
import { guardTrigger } from '../../src/remediation/pipeline.js';
import { createRemediation } from '../../src/remediation/setup.js';
import { files, memorySink, proc } from '../receiver/harness.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const GiB = 1024 ** 3;

/** A machine (no I/O) at 99 % whose only big process matches remediation.protect: every crossing is refused. */
function snapshot(at: Date, usedPct: number): Snapshot {
  const job: ProcessEntry = {
    pid: 4242, ppid: 1, pgrp: 4242, session: 4242, comm: 'postgres', state: 'R', isKernelThread: false,
    residentBytes: 8 * GiB, virtualBytes: 9 * GiB, cpuSeconds: 100, startTicks: 1000, startTimeSeconds: 1_700_000_010,
  };
  return {
    at,
    memory: { totalBytes: 16 * GiB, availableBytes: (1 - usedPct / 100) * 16 * GiB, usedRatio: usedPct / 100, scope: 'host' },
    hostMemTotalBytes: 16 * GiB,
    processes: new ProcessTable([job]),
    details: { get: (pid) => (pid === 4242 ? { cmdline: ['postgres'], oomScoreAdj: 0, uid: 100 } : undefined) },
    self: { pid: 1, ppid: 0 },
  };
}

describe('quiet logs (issue 14): an episode of identical refusals is one line, then one count', () => {
  it('220 refusals two a second (fake clock) write one refusal line, one journal line and one notification; the episode closes with count and span', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'headroom-quiet-'));
    dirs.push(dir);
    let clock = Date.parse('2025-12-12T03:12:00Z');
    let used = 99;
    const logger = memoryLogger();
    const sink = memorySink();
    const r = createRemediation({
      config: parseConfig({ remediation: { state_dir: dir, min_victim_size: '1G', protect: { comm: ['^postgres$'] } } }, 'test'),
      proc,
      cgroups: new CgroupFs(join(dir, 'no-cgroupfs'), files),
      files,
      self: { pid: 1, ppid: 0 },
      host: 'test-host',
      actionsEnabled: true,
      now: () => new Date(clock),
      monotonic: () => clock / 1000,
      sleep: () => Promise.resolve(),
      kill: () => {
        throw new Error('test: nothing may be signalled');
      },
      writeFile: () => {
        throw new Error('test: nothing may be written');
      },
      sink,
      logger,
      registry: new Registry(),
      snapshots: { read: () => snapshot(new Date(clock), used) },
    });
    try {
      const start = clock;
      for (let i = 0; i < 220; i++) {
        used = 98 + (i % 10) / 10; // the numbers in the reason change every poll; the refusal does not
        const d = await r.pipeline.handle(guardTrigger({ at: new Date(clock) }));
        expect(d).toMatchObject({ kind: 'refusal', reasonCode: 'no_candidate' });
        clock += 500;
      }
      let log = readAuditLog(join(dir, 'audit.jsonl'));
      expect(log.map((e) => `${e.event}:${e.reasonCode}`)).toEqual(['refusal:no_candidate']);
      expect(logger.lines.filter((l) => l.msg === 'remediation refused')).toHaveLength(1);
      expect(sink.items.map((n) => n.kind)).toEqual(['refusal']);
      // Memory recovers: a different outcome on the stream ends the episode with one closing line.
      used = 50;
      const d = await r.pipeline.handle(guardTrigger({ at: new Date(clock) }));
      expect(d).toMatchObject({ kind: 'refusal', reasonCode: 'recovered' });
      log = readAuditLog(join(dir, 'audit.jsonl'));
      expect(log.map((e) => `${e.event}:${e.reasonCode}`)).toEqual(['refusal:no_candidate', 'refusal:no_candidate', 'refusal:recovered']);
      expect(log[1]?.repeated).toEqual({ count: 220, first: new Date(start).toISOString(), last: new Date(start + 219 * 500).toISOString() });
      expect(log[1]?.reason).toMatch(/^refused 220 times in 109\.5 s/);
      expect(logger.lines.filter((l) => l.msg === 'remediation refusals ended')).toHaveLength(1);
    } finally {
      r.close();
    }
  });
});
