import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { IncidentRecord } from '../../src/incidents/types.js';
import type { CriticalTrigger } from '../../src/remediation/trigger.js';
import { descendants, identity, removeDir } from '../receiver/harness.js';
import { createV1Cgroup, type TestCgroup } from '../support/cgroup.js';
import { realRemediation } from '../support/real-remediation.js';
import { spawnUntil } from '../support/processes.js';
import { skipSuite, V1_FREEZER } from '../support/suites.js';

/**
 * Evidence for a cgroup target (issue #11: "freeze it first: cgroup v2 cgroup.freeze, v1 freezer …"): a job of
 * three processes this test starts in a hard-limited v1 memory cgroup (160 MiB) — and, in the first case, in a v1
 * freezer cgroup at the same path, as Docker and Kubernetes create one per container — gets a critical cgroup
 * alert. The pipeline freezes the cgroup with the kernel's freezer (the tasks are seen frozen while it captures),
 * records the cgroup's accounting and its largest task, stops the cgroup, and thaws it: a frozen v1 task does not
 * even die from SIGKILL until thawed (measured here), so a missed thaw would leave the job alive and frozen.
 */
const MiB = 1024 * 1024;
const TAG = `headroom-cgfreeze-${process.pid}`;
const owned = new Set<number>();
const cgroups: TestCgroup[] = [];
const freezers: string[] = [];
const dirs: string[] = [];
const children: ChildProcess[] = [];

afterAll(async () => {
  for (const dir of freezers) if (existsSync(join(dir, 'freezer.state'))) writeFileSync(join(dir, 'freezer.state'), 'THAWED');
  for (const pid of owned) {
    try {
      if (identity(pid).alive) process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await new Promise((r) => setTimeout(r, 300));
  for (const cg of cgroups) cg.remove();
  for (const dir of freezers) if (existsSync(dir)) rmdirSync(dir);
  dirs.forEach(removeDir);
});

/** The job: forks two children (20 MiB each), then grows to 60 MiB; prints "ready" once all three hold memory. */
const JOB = [
  'import os, time',
  'r, w = os.pipe()',
  'for _ in range(2):',
  '    if os.fork() == 0:',
  '        b = bytearray(20 << 20)',
  '        for i in range(0, len(b), 4096): b[i] = 1',
  '        os.write(w, b"k")',
  '        time.sleep(120); os._exit(0)',
  'os.read(r, 1); os.read(r, 1)',
  'chunks = []',
  'for step in range(12):',
  '    c = bytearray(5 << 20)',
  '    for i in range(0, len(c), 4096): c[i] = 1',
  '    chunks.append(c)',
  'print("ready", flush=True)',
  'time.sleep(120)',
].join('\n');

/** Starts the job in the memory cgroup and (when given) the freezer cgroup: the shell moves itself, then execs. */
async function startJob(cg: TestCgroup, freezerProcs: string | undefined): Promise<number[]> {
  const script = freezerProcs === undefined ? 'echo $$ > "$1" && exec python3 -c "$2"' : 'echo $$ > "$1" && echo $$ > "$3" && exec python3 -c "$2"';
  const child = await spawnUntil('/bin/sh', ['-c', script, 'sh', cg.procsFile, JOB, ...(freezerProcs === undefined ? [] : [freezerProcs])], 'ready', 30_000, { onSpawn: (p) => owned.add(p) });
  children.push(child);
  const pid = child.pid;
  if (pid === undefined) throw new Error('spawn failed');
  const pids = descendants(pid);
  for (const p of pids) owned.add(p);
  return pids;
}

function cgroupAlert(path: string): CriticalTrigger {
  return {
    kind: 'critical',
    source: 'receiver',
    key: `test|${path}|${Date.now()}`,
    alertName: 'HeadroomCgroupMemoryCritical',
    target: { ok: true, target: { kind: 'cgroup', path } },
    startsAt: new Date(Date.now() - 1000),
  };
}

const states = (path: string): string[] => readFileSync(path, 'utf8').trim().split('\n');

describe.skipIf(skipSuite('evidence-cgroup-freezer-v1'))('evidence for a cgroup target, frozen by the kernel before stop_cgroup (real processes, v1 memory + freezer)', () => {
  it('freezes the cgroup with the v1 freezer, records its accounting and largest task, stops it, thaws it', async () => {
    const name = `${TAG}-a`;
    const cg = createV1Cgroup(name, 160 * MiB);
    cgroups.push(cg);
    const freezer = join(V1_FREEZER, name);
    mkdirSync(freezer);
    freezers.push(freezer);
    const pids = await startJob(cg, join(freezer, 'cgroup.procs'));
    expect(pids).toHaveLength(3);
    const root = pids[0] as number;
    // The freezer's state as another process sees it while the pipeline runs (capture is synchronous here, so
    // a timer in this process could not look): a bounded sampler (20 s at most), stopped by its PID.
    const sampler = spawn('python3', ['-c', 'import sys, time\nend = time.time() + 20\nlast = None\nwhile time.time() < end:\n    s = open(sys.argv[1]).read().strip()\n    if s != last: print(s, flush=True); last = s\n    time.sleep(0.0005)', join(freezer, 'freezer.state')], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(sampler);
    if (sampler.pid !== undefined) owned.add(sampler.pid);
    let sampled = '';
    sampler.stdout?.on('data', (b: Buffer) => (sampled += b.toString()));
    await new Promise((res) => setTimeout(res, 300));
    const { r, dir, writes, signals } = realRemediation({
      prefix: TAG,
      remediation: { recovered: { cgroup_used_below: 0.2 } },
      mayTouch: (pid) => owned.has(pid),
      mayWrite: (path) => path.startsWith(`${freezer}/`) || path.startsWith(`${cg.dir}/`),
      evidence: { pySpy: () => undefined },
    });
    dirs.push(dir);
    try {
      const out = await r.pipeline.handle(cgroupAlert(cg.rel));
      await new Promise((res) => setTimeout(res, 200));
      if (sampler.pid !== undefined) process.kill(sampler.pid, 'SIGKILL');
      expect(out, JSON.stringify(out)).toMatchObject({ kind: 'action', action: 'stop_cgroup', result: 'success' });
      for (const p of pids) expect(identity(p).alive).toBe(false);
      expect(readFileSync(cg.procsFile, 'utf8').trim()).toBe('');
      // Frozen by the kernel's freezer, not by signals; thawed after the kill so the tasks could die.
      expect(writes).toEqual([`${freezer}/freezer.state=FROZEN`, `${freezer}/freezer.state=THAWED`]);
      expect(sampled.trim().split('\n')).toEqual(['THAWED', 'FROZEN', 'THAWED']);
      expect(states(join(freezer, 'freezer.state'))).toEqual(['THAWED']);
      expect(signals.map((s) => s.signal)).not.toContain('SIGSTOP');

      const rec = r.incidents.list()[0] as IncidentRecord;
      const ev = rec.evidence;
      console.log(`cgroup evidence: ${ev?.spentMs} ms of a ${ev?.budgetMs} ms budget, frozen ${ev?.frozen} (${ev?.frozenPids} tasks); not captured: ${ev?.notCaptured.join(' | ')}`);
      expect(ev?.captured).toBe(true);
      expect(ev?.frozen).toBe('cgroup_v1_freezer');
      expect(ev?.frozenPids).toBe(3);
      expect(ev?.cgroup).toMatchObject({ path: cg.rel, tasks: 3, limitBytes: 160 * MiB, largestPid: root });
      expect(ev?.cgroup?.usageBytes).toBeGreaterThanOrEqual(95 * MiB);
      expect(ev?.cgroup?.anonBytes).toBeGreaterThanOrEqual(95 * MiB);
      // The largest task (the parent: 60 MiB beside 20 MiB each) carries the process evidence, the others are its children.
      expect(ev?.process?.pid).toBe(root);
      expect(ev?.process?.memory.anonBytes).toBeGreaterThanOrEqual(55 * MiB);
      expect(ev?.process?.children.map((c) => c.pid).sort()).toEqual(pids.slice(1).sort());
      expect(rec.diagnosis).toContain(`cgroup ${cg.rel}: 3 tasks`);
      expect(rec.diagnosis).toContain(`largest task (PID ${root})`);
      const report = r.incidents.show(rec.id) ?? '';
      expect(report).toContain('frozen with the v1 freezer (3 tasks)');
      expect(report).toContain(`Cgroup \`${cg.rel}\`: 3 tasks`);
      expect(report).toContain(`Its largest task (resident + swap) is PID ${root}`);
    } finally {
      if (sampler.pid !== undefined && identity(sampler.pid).alive) process.kill(sampler.pid, 'SIGKILL');
      r.close();
    }
  }, 90_000);

  it('without a freezer cgroup at that path: its tasks are stopped with SIGSTOP, and the report says so', async () => {
    const name = `${TAG}-b`;
    const cg = createV1Cgroup(name, 160 * MiB);
    cgroups.push(cg);
    const pids = await startJob(cg, undefined);
    const { r, dir, writes, signals } = realRemediation({
      prefix: TAG,
      remediation: { recovered: { cgroup_used_below: 0.2 } },
      mayTouch: (pid) => owned.has(pid),
      mayWrite: () => false,
      evidence: { pySpy: () => undefined },
    });
    dirs.push(dir);
    try {
      const out = await r.pipeline.handle(cgroupAlert(cg.rel));
      expect(out, JSON.stringify(out)).toMatchObject({ kind: 'action', action: 'stop_cgroup', result: 'success' });
      for (const p of pids) expect(identity(p).alive).toBe(false);
      expect(writes).toEqual([]);
      expect(signals.filter((s) => s.signal === 'SIGSTOP').map((s) => s.pid).sort()).toEqual([...pids].sort());
      const ev = (r.incidents.list()[0] as IncidentRecord).evidence;
      expect(ev?.frozen).toBe('sigstop');
      expect(ev?.frozenPids).toBe(3);
      expect(ev?.notCaptured).toContain(`no v1 freezer cgroup at ${cg.rel}: its tasks were stopped with SIGSTOP instead`);
      expect(ev?.cgroup?.tasks).toBe(3);
    } finally {
      r.close();
    }
  }, 90_000);
});
