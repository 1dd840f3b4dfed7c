import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Evidence } from '../../src/evidence/types.js';
import type { IncidentRecord } from '../../src/incidents/types.js';
import type { ActionNotification } from '../../src/notify/events.js';
import { renderSlackMessage } from '../../src/notify/render/slack.js';
import { renderText } from '../../src/notify/render/text.js';
import { guardTrigger } from '../../src/remediation/pipeline.js';
import { findOnPath } from '../../src/run/backends/systemd.js';
import { descendants, identity, removeDir } from '../receiver/harness.js';
import { canCreateV1Cgroup, createV1Cgroup, inCgroup, type TestCgroup } from '../support/cgroup.js';
import { realRemediation } from '../support/real-remediation.js';
import { spawnUntil } from '../support/processes.js';
import { skipSuite } from '../support/suites.js';

/**
 * Evidence captured before the kill, with real processes this test starts inside a hard-limited v1 cgroup
 * (256 MiB): the victim reads a real file it opened, has an allowlisted and a secret environment variable, and
 * forked children. The pipeline (as the guard calls it) sees only this test's processes and memory at 99.5 %.
 */
const MiB = 1024 * 1024;
const TAG = `headroom-evidence-${process.pid}`;
const canRun = process.getuid?.() === 0 && canCreateV1Cgroup();
if (!canRun) console.log('SKIP test/evidence/evidence-real.test.ts: needs root and a writable cgroup v1 memory controller');

const dirs: string[] = [];
const cgroups: TestCgroup[] = [];
const children: ChildProcess[] = [];
const owned = new Set<number>();

afterAll(async () => {
  for (const pid of owned) {
    try {
      if (identity(pid).alive) {
        process.kill(pid, 'SIGCONT');
        process.kill(pid, 'SIGKILL');
      }
    } catch {
      // already gone
    }
  }
  await new Promise((r) => setTimeout(r, 300));
  for (const cg of cgroups) cg.remove();
  dirs.forEach(removeDir);
});

/** The victim: opens the data file, forks two children (10 MiB each, touched before it goes on), grows 5 MiB every 50 ms to 60 MiB. */
function victimScript(ignoreTerm: boolean): string {
  return [
    'import os, sys, time, signal',
    ignoreTerm ? 'signal.signal(signal.SIGTERM, signal.SIG_IGN)' : '',
    'f = open(sys.argv[1], "rb"); f.read(4096)',
    'r, w = os.pipe()',
    'for _ in range(2):',
    '    if os.fork() == 0:',
    '        b = bytearray(10 << 20)',
    '        for i in range(0, len(b), 4096): b[i] = 1',
    '        os.write(w, b"k")',
    '        time.sleep(120); os._exit(0)',
    'os.read(r, 1); os.read(r, 1)',
    'chunks = []',
    'for step in range(12):',
    '    c = bytearray(5 << 20)',
    '    for i in range(0, len(c), 4096): c[i] = 1',
    '    chunks.append(c)',
    '    if step == 3: print("ready", flush=True)',
    '    time.sleep(0.05)',
    'time.sleep(120)',
  ].join('\n');
}

async function startVictim(cg: TestCgroup, dataFile: string, env: Record<string, string>, ignoreTerm: boolean): Promise<{ pid: number; startTime: string }> {
  const [sh, args] = inCgroup(cg.procsFile, ['python3', '-c', victimScript(ignoreTerm), dataFile]);
  const child = await spawnUntil(sh, args, 'ready', 20_000, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, onSpawn: (p) => owned.add(p) });
  children.push(child);
  const pid = child.pid;
  if (pid === undefined) throw new Error('spawn failed');
  for (const p of descendants(pid)) owned.add(p);
  return { pid, startTime: identity(pid).startTime };
}

/** The real remediation as the guard calls it, seeing only this test's processes (memory at 99.5 % while they live). */
function setup(evidence: Record<string, unknown>, pySpy: () => string | undefined, killGrace = '2s', dryRun = false) {
  const out = realRemediation({
    prefix: TAG,
    remediation: { dry_run: dryRun, kill_grace: killGrace, evidence },
    mayTouch: (pid) => owned.has(pid),
    restrictTo: () => owned,
    evidence: { pySpy },
  });
  dirs.push(out.dir);
  return out;
}

/**
 * The incident records after the held incidents are closed: a guard incident whose memory recovered stays open
 * for remediation.incident.close_after (a re-crossing would continue it); closeHeld ends it as the agent's stop does.
 */
function closedIncidents(r: ReturnType<typeof setup>['r']): IncidentRecord[] {
  r.pipeline.closeHeld();
  return r.incidents.list();
}

describe.skipIf(skipSuite('evidence-cgroup-v1'))('evidence captured before the kill (real processes, v1 cgroup)', () => {
  it('names the file it reads and its size, the allowlisted value, the children; the secret appears nowhere', async () => {
    const data = mkdtempSync(join(tmpdir(), `${TAG}-data-`));
    dirs.push(data);
    const file = join(data, 'audusd.parquet');
    writeFileSync(file, Buffer.alloc(8 * MiB, 7));
    const cg = createV1Cgroup(`${TAG}-a`, 256 * MiB);
    cgroups.push(cg);
    const secret = `s3cr3t-${randomBytes(8).toString('hex')}`;
    const victim = await startVictim(cg, file, { POLARS_MAX_THREADS: '3', MY_API_TOKEN: secret }, false);
    const kids = descendants(victim.pid).filter((p) => p !== victim.pid);
    // sh exec'd python: the tree is python plus its two forked children.
    expect(kids.length).toBe(2);
    const { r, dir, sink, logger, signals } = setup({}, () => undefined);
    try {
      const out = await r.pipeline.handle(guardTrigger({ at: new Date(Date.now() - 1000) }));
      expect(out, JSON.stringify(out)).toMatchObject({ kind: 'action', action: 'stop_process_tree', result: 'success' });
      expect(identity(victim.pid).alive).toBe(false);
      for (const k of kids) expect(identity(k).alive).toBe(false);
      // Frozen first (SIGSTOP to the three), then SIGTERM, then SIGCONT so the stopped processes can exit.
      const order = signals.filter((s) => s.pid === victim.pid).map((s) => s.signal);
      expect(order.slice(0, 3)).toEqual(['SIGSTOP', 'SIGTERM', 'SIGCONT']);

      const rec = closedIncidents(r)[0] as IncidentRecord;
      const ev = rec.evidence as Evidence;
      console.log(`evidence capture on a real process: ${ev.spentMs} ms of a ${ev.budgetMs} ms budget; frozen ${ev.frozenPids}; not captured: ${ev.notCaptured.join(' | ')}`);
      expect(ev.captured).toBe(true);
      expect(ev.frozen).toBe('sigstop');
      expect(ev.frozenPids).toBe(3);
      expect(ev.process?.openFiles).toContainEqual({ fd: expect.any(Number) as number, path: file, sizeBytes: 8 * MiB });
      expect(ev.process?.env.POLARS_MAX_THREADS).toBe('3');
      expect(ev.process?.env.OMP_NUM_THREADS).toBeNull();
      expect(Object.keys(ev.process?.env ?? {})).not.toContain('MY_API_TOKEN');
      expect(ev.process?.children.map((c) => c.pid).sort()).toEqual([...kids].sort());
      for (const c of ev.process?.children ?? []) expect(c.residentBytes).toBeGreaterThanOrEqual(9 * MiB);
      expect(ev.process?.memory.anonBytes).toBeGreaterThanOrEqual(15 * MiB);
      expect(ev.process?.cwd).toBe(process.cwd());
      expect(ev.process?.exe).toMatch(/python/);
      expect(ev.process?.user).toBe('root');
      expect(ev.python.status).toBe('not_available');

      const report = readFileSync(join(dir, 'incidents', `${rec.id}.md`), 'utf8');
      expect(report).toContain('## Evidence');
      expect(report).toContain(`| \`${file}\` | 8.0 MiB |`);
      expect(report).toContain('`POLARS_MAX_THREADS`=`3`');
      for (const k of kids) expect(report).toContain(`| ${k} |`);
      expect(report).toContain('Python stacks: not available (py-spy is not on PATH).');
      expect(rec.diagnosis).toContain(`reading ${file} (8.0 MiB)`);
      expect(rec.diagnosis).toContain('2 children');
      expect(rec.diagnosis).toContain('POLARS_MAX_THREADS=3');

      const action = sink.items.find((n): n is ActionNotification => n.kind === 'action');
      const slack = JSON.stringify(renderSlackMessage(action as ActionNotification));
      expect(slack).toContain(`reading ${file} (8.0 MiB)`);
      // The secret's value: not in the report, the incident index, the audit log, Slack, the log lines.
      const everything = [
        report,
        readFileSync(join(dir, 'incidents', 'index.jsonl'), 'utf8'),
        readFileSync(join(dir, 'audit.jsonl'), 'utf8'),
        slack,
        renderText(action as ActionNotification),
        JSON.stringify(sink.items),
        JSON.stringify(logger.lines),
        ...readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => readFileSync(join(e.parentPath, e.name), 'utf8')),
      ];
      for (const text of everything) expect(text).not.toContain(secret);
      expect(everything.join('\n')).not.toContain('MY_API_TOKEN');
    } finally {
      r.close();
    }
  }, 60_000);

  it('a py-spy that never returns and a victim that ignores SIGTERM: the victim is still gone, the report says what was not captured', async () => {
    const bin = mkdtempSync(join(tmpdir(), `${TAG}-bin-`));
    dirs.push(bin);
    writeFileSync(join(bin, 'py-spy'), '#!/bin/sh\nexec sleep 600\n');
    chmodSync(join(bin, 'py-spy'), 0o755);
    const data = mkdtempSync(join(tmpdir(), `${TAG}-data2-`));
    dirs.push(data);
    writeFileSync(join(data, 'x.csv'), 'a,b\n1,2\n');
    const cg = createV1Cgroup(`${TAG}-b`, 256 * MiB);
    cgroups.push(cg);
    const victim = await startVictim(cg, join(data, 'x.csv'), {}, true);
    const pySpy = (): string | undefined => findOnPath('py-spy', `${bin}:${process.env.PATH ?? ''}`, (f) => f === join(bin, 'py-spy'));
    const { r, signals } = setup({ budget: '300ms' }, pySpy, '500ms');
    try {
      const t0 = performance.now();
      const out = await r.pipeline.handle(guardTrigger({ at: new Date() }));
      const ms = performance.now() - t0;
      console.log(`hanging py-spy + SIGTERM-ignoring victim: pipeline returned after ${ms.toFixed(0)} ms (budget 300 ms, grace 500 ms)`);
      expect(out, JSON.stringify(out)).toMatchObject({ kind: 'action', result: 'success' });
      expect(identity(victim.pid).alive).toBe(false);
      expect(signals.filter((s) => s.pid === victim.pid).map((s) => s.signal)).toEqual(['SIGSTOP', 'SIGTERM', 'SIGCONT', 'SIGKILL']);
      const rec = closedIncidents(r)[0] as IncidentRecord;
      expect(rec.evidence?.python.status).toBe('timed_out');
      expect(rec.evidence?.notCaptured.join('\n')).toMatch(/py-spy did not answer within the remaining \d+ ms of the budget/);
      const report = r.incidents.show(rec.id) ?? '';
      expect(report).toContain('Python stacks: timed out');
      expect(report).toContain('Not captured:');
      expect(report).toMatch(/- Python stacks: py-spy did not answer/);
    } finally {
      r.close();
    }
  }, 60_000);

  it('skips capture when the machine is stalling, and still acts', async () => {
    const cg = createV1Cgroup(`${TAG}-c`, 256 * MiB);
    cgroups.push(cg);
    const data = mkdtempSync(join(tmpdir(), `${TAG}-data3-`));
    dirs.push(data);
    writeFileSync(join(data, 'y.bin'), 'y');
    const victim = await startVictim(cg, join(data, 'y.bin'), {}, false);
    const { r, signals } = setup({}, () => undefined);
    try {
      const out = await r.pipeline.handle(guardTrigger({ at: new Date(), stalling: true }));
      expect(out).toMatchObject({ kind: 'action', result: 'success' });
      expect(identity(victim.pid).alive).toBe(false);
      expect(signals.some((s) => s.signal === 'SIGSTOP')).toBe(false);
      const rec = closedIncidents(r)[0] as IncidentRecord;
      expect(rec.evidence?.captured).toBe(false);
      expect(rec.evidence?.notCaptured[0]).toContain('machine stalling');
      expect(r.incidents.show(rec.id)).toContain('machine stalling (memory pressure): capture skipped');
    } finally {
      r.close();
    }
  }, 60_000);

  it('a py-spy on PATH that answers: its dump (here a stand-in printing the pid it was given) lands in the report', async () => {
    const bin = mkdtempSync(join(tmpdir(), `${TAG}-bin2-`));
    dirs.push(bin);
    writeFileSync(join(bin, 'py-spy'), '#!/bin/sh\necho "Process $3: python3 (stand-in)"\necho "Thread 1 (idle): MainThread"\n');
    chmodSync(join(bin, 'py-spy'), 0o755);
    const cg = createV1Cgroup(`${TAG}-d`, 256 * MiB);
    cgroups.push(cg);
    const data = mkdtempSync(join(tmpdir(), `${TAG}-data4-`));
    dirs.push(data);
    writeFileSync(join(data, 'z.npy'), 'z');
    const victim = await startVictim(cg, join(data, 'z.npy'), {}, false);
    const { r } = setup({ budget: '2s' }, () => join(bin, 'py-spy'));
    try {
      expect(await r.pipeline.handle(guardTrigger({ at: new Date() }))).toMatchObject({ kind: 'action', result: 'success' });
      const rec = closedIncidents(r)[0] as IncidentRecord;
      expect(rec.evidence?.python).toEqual({ status: 'captured', text: `Process ${victim.pid}: python3 (stand-in)\nThread 1 (idle): MainThread\n` });
      expect(r.incidents.show(rec.id)).toContain(`Python stacks (py-spy dump):\n\n\`\`\`\nProcess ${victim.pid}: python3 (stand-in)`);
    } finally {
      r.close();
    }
  }, 60_000);

  it('a dry run captures without freezing or signalling anything', async () => {
    const cg = createV1Cgroup(`${TAG}-e`, 256 * MiB);
    cgroups.push(cg);
    const data = mkdtempSync(join(tmpdir(), `${TAG}-data5-`));
    dirs.push(data);
    writeFileSync(join(data, 'w.arrow'), 'w');
    const victim = await startVictim(cg, join(data, 'w.arrow'), { OMP_NUM_THREADS: '2' }, false);
    const { r, signals } = setup({}, () => undefined, '2s', true);
    try {
      expect(await r.pipeline.handle(guardTrigger({ at: new Date() }))).toMatchObject({ kind: 'action', result: 'dry_run', dryRun: true });
      expect(signals).toEqual([]);
      expect(identity(victim.pid).alive).toBe(true);
      const ev = closedIncidents(r)[0]?.evidence;
      expect(ev?.frozen).toBe('none');
      expect(ev?.process?.env.OMP_NUM_THREADS).toBe('2');
      expect(ev?.notCaptured).toContain('dry run: the tree was not frozen, so it may have changed while it was read');
    } finally {
      r.close();
    }
  }, 60_000);
});
