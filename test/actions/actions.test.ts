import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ActionEnv } from '../../src/actions/action.js';
import { LiveCgroupControl } from '../../src/actions/cgroup-control.js';
import { dropCaches } from '../../src/actions/drop-caches.js';
import { LiveProcessControl } from '../../src/actions/process-control.js';
import { protect } from '../../src/actions/protect.js';
import { stopCgroup } from '../../src/actions/stop-cgroup.js';
import { stopProcessTree } from '../../src/actions/stop-process-tree.js';
import { throttle } from '../../src/actions/throttle.js';
import { actionEnv } from './env.js';
import { skipSuite } from '../support/suites.js';
import type { Plan } from '../../src/policy/types.js';
import { cleanup, files, identity, proc, spawnTree, type OwnedTree } from '../receiver/harness.js';

const V1 = '/sys/fs/cgroup/memory';
const haveV1 = existsSync(join(V1, 'memory.usage_in_bytes'));
const trees: OwnedTree[] = [];
const allowed = (): Set<number> => new Set(trees.flatMap((t) => t.pids));
const cgName = `/headroom-test-actions-${process.pid}`;
const tmp = mkdtempSync(join(tmpdir(), 'headroom-actions-'));

function env(over: Partial<ActionEnv> = {}): ActionEnv {
  const write = (path: string, text: string): void => writeFileSync(path, text);
  return actionEnv({
    processes: new LiveProcessControl(proc, proc.stat().bootTimeSeconds, (pid, signal) => {
      if (!allowed().has(pid)) throw new Error(`test safety: PID ${pid} was not started by this test`);
      process.kill(pid, signal);
    }, write),
    cgroups: haveV1 ? new LiveCgroupControl({ version: 'v1', root: V1 }, files, write) : undefined,
    writeFile: write,
    dropCachesPath: join(tmp, 'drop_caches'),
    protectSshd: { oomScoreAdj: -500 },
    ...over,
  });
}

function treePlan(t: OwnedTree, action: Plan['action'] = 'stop_process_tree'): Plan {
  return {
    kind: 'plan',
    action,
    target: { kind: 'process', root: { pid: t.pid, startTime: t.startTime }, tree: t.pids.map((pid) => ({ pid, startTime: identity(pid).startTime })), comm: 'sh', cmdline: [] },
    reason: 'test',
    targetBytes: 0,
  };
}

afterAll(() => {
  cleanup(trees);
  if (existsSync(join(V1, cgName))) {
    for (let i = 0; i < 50 && readFileSync(join(V1, cgName, 'cgroup.procs'), 'utf8').trim() !== ''; i++) {
      // wait for the killed tasks to leave
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    }
    rmdirSync(join(V1, cgName));
  }
  rmSync(tmp, { recursive: true, force: true });
});

describe('stop_process_tree', () => {
  it('dry run reports before numbers and signals nothing', async () => {
    const t = await spawnTree();
    trees.push(t);
    const r = await stopProcessTree.run(treePlan(t), env({ dryRun: true }));
    expect(r.result).toBe('dry_run');
    expect(r.before.processes).toBe(3);
    expect(r.before.tree_resident_bytes).toBeGreaterThan(0);
    expect(t.pids.every((p) => identity(p).alive)).toBe(true);
  });

  it('SIGTERM, then SIGKILL after the grace period for a tree that ignores SIGTERM; confirms all gone and memory freed', async () => {
    // sh ignores TERM and its children inherit the ignored disposition.
    const t = await spawnTree('headroom-test-stubborn', 'trap "" TERM; sleep 300 & sleep 300 & wait');
    trees.push(t);
    const bystander = await spawnTree();
    trees.push(bystander);
    const started = performance.now();
    const r = await stopProcessTree.run(treePlan(t), env());
    expect(performance.now() - started).toBeGreaterThanOrEqual(1000);
    expect(r.detail).toMatch(/SIGKILL to 3 after 1 s/);
    expect(r.result).toBe('success');
    expect(t.pids.some((p) => identity(p).alive)).toBe(false);
    expect(r.freedBytes).toBeGreaterThan(0);
    expect(r.after.processes).toBe(0);
    expect(bystander.pids.every((p) => identity(p).alive)).toBe(true);
  });

  it('escalation under thrash (issue 14): still below the kill line after escalate_after → SIGKILL before the grace ends', async () => {
    const t = await spawnTree('headroom-test-thrash', 'trap "" TERM; sleep 300 & sleep 300 & wait');
    trees.push(t);
    let reads = 0;
    // A 60 s grace that must not be waited out: available memory reads 0.6 % (below kill_below 2 %).
    const r = await stopProcessTree.run(
      treePlan(t),
      env({ killGraceMs: 60_000, escalation: { escalateAfterMs: 200, killBelow: 0.02, availableRatio: () => (reads++, 0.006) } }),
    );
    expect(r.escalated).toBe(true);
    expect(r.detail).toMatch(/SIGKILL to 3 after 0\.2 s \(available memory still below the kill line of 2\.0 %\)/);
    expect(r.result).toBe('success');
    expect(t.pids.some((p) => identity(p).alive)).toBe(false);
    expect(reads).toBeGreaterThan(0);
  });

  it('no escalation above the kill line: the job gets its whole grace', async () => {
    const t = await spawnTree('headroom-test-healthy', 'trap "" TERM; sleep 300 & sleep 300 & wait');
    trees.push(t);
    const r = await stopProcessTree.run(treePlan(t), env({ escalation: { escalateAfterMs: 10, killBelow: 0.02, availableRatio: () => 0.4 } }));
    expect(r.escalated).toBeUndefined();
    expect(r.detail).toMatch(/SIGKILL to 3 after 1 s$|SIGKILL to 3 after 1 s;/);
    expect(t.pids.some((p) => identity(p).alive)).toBe(false);
  });
});

describe.skipIf(skipSuite('actions-cgroup-v1'))('cgroup actions (v1 memory controller, hard limit 256M)', () => {
  it('throttle sets the v1 soft limit to a share of usage; stop_cgroup empties the cgroup', async () => {
    mkdirSync(join(V1, cgName));
    writeFileSync(join(V1, cgName, 'memory.limit_in_bytes'), String(256 * 1024 * 1024));
    const t = await spawnTree();
    trees.push(t);
    for (const pid of t.pids) writeFileSync(join(V1, cgName, 'cgroup.procs'), String(pid));
    const plan: Plan = { kind: 'plan', action: 'throttle', target: { kind: 'cgroup', path: cgName, pids: t.pids }, reason: 'test', targetBytes: 0 };
    const th = await throttle.run(plan, env());
    expect(th.result).toBe('success');
    const soft = Number(readFileSync(join(V1, cgName, 'memory.soft_limit_in_bytes'), 'utf8'));
    expect(th.after.limit_bytes).toBe(soft);
    expect(soft).toBeLessThanOrEqual(Math.max(4096, (th.before.usage_bytes ?? 0) * 0.5));

    const dry = await stopCgroup.run({ ...plan, action: 'stop_cgroup' }, env({ dryRun: true }));
    expect(dry.result).toBe('dry_run');
    expect(dry.before.tasks).toBe(3);
    expect(t.pids.every((p) => identity(p).alive)).toBe(true);

    const r = await stopCgroup.run({ ...plan, action: 'stop_cgroup' }, env());
    expect(r.result).toBe('success');
    expect(r.signalled.length).toBeGreaterThanOrEqual(3);
    expect(t.pids.some((p) => identity(p).alive)).toBe(false);
    expect(readFileSync(join(V1, cgName, 'cgroup.procs'), 'utf8').trim()).toBe('');
  });
});

describe('protect and drop_caches', () => {
  it('protect lowers oom_score_adj of the given process (a test-owned stand-in for sshd), or reports why it could not', async () => {
    const t = await spawnTree();
    trees.push(t);
    const plan = treePlan(t, 'protect');
    const onlyRoot: Plan = { ...plan, target: { ...(plan.target as Extract<Plan['target'], { kind: 'process' }>), tree: [{ pid: t.pid, startTime: t.startTime }] } };
    const r = await protect.run(onlyRoot, env());
    expect(r.before.oom_score_adj).toBe(0);
    if (r.result === 'success') {
      expect(proc.pidOomScoreAdj(t.pid)).toBe(-500);
    } else {
      // Lowering oom_score_adj needs CAP_SYS_RESOURCE; without it the action reports the failure, changes nothing.
      expect(r.result).toBe('failed');
      expect(r.detail).toMatch(/EACCES|EPERM|permission/i);
      expect(proc.pidOomScoreAdj(t.pid)).toBe(0);
    }
  });

  it('drop_caches writes 1 to the (injected) drop_caches file; dry run does not', async () => {
    const plan: Plan = { kind: 'plan', action: 'drop_caches', target: { kind: 'host' }, reason: 'test', targetBytes: 0 };
    const dry = await dropCaches.run(plan, env({ dryRun: true }));
    expect(dry.result).toBe('dry_run');
    expect(existsSync(join(tmp, 'drop_caches'))).toBe(false);
    const r = await dropCaches.run(plan, env());
    expect(r.result).toBe('success');
    expect(readFileSync(join(tmp, 'drop_caches'), 'utf8')).toBe('1');
    expect(r.before.available_bytes).toBeGreaterThan(0);
  });
});
