import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ActionEnv } from '../../src/actions/action.js';
import { LiveCgroupControl } from '../../src/actions/cgroup-control.js';
import { LiveProcessControl } from '../../src/actions/process-control.js';
import { protect } from '../../src/actions/protect.js';
import { stopCgroup } from '../../src/actions/stop-cgroup.js';
import { throttle } from '../../src/actions/throttle.js';
import { actionEnv } from './env.js';
import type { Plan } from '../../src/policy/types.js';
import { cleanup, files, identity, proc, spawnTree, type OwnedTree } from '../receiver/harness.js';

/**
 * The cgroup v2 branches of the actions (cgroup.kill, memory.high, memory.low) against a writable fake v2 tree:
 * this machine's v2 hierarchy has no memory controller. The fake "kernel" is the write hook: writing 1 to
 * cgroup.kill kills the tasks listed in cgroup.procs (this test's own processes only) and empties it, as the
 * kernel does.
 */
const root = mkdtempSync(join(tmpdir(), 'headroom-v2-'));
const trees: OwnedTree[] = [];
const allowed = (): Set<number> => new Set(trees.flatMap((t) => t.pids));
const writes: Array<{ file: string; value: string }> = [];
afterAll(() => {
  cleanup(trees);
  rmSync(root, { recursive: true, force: true });
});

function fakeCgroup(rel: string, pids: readonly number[], current: number): string {
  const dir = join(root, rel);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'cgroup.procs'), pids.map((p) => `${p}\n`).join(''));
  writeFileSync(join(dir, 'memory.current'), `${current}\n`);
  writeFileSync(join(dir, 'memory.high'), 'max\n');
  writeFileSync(join(dir, 'memory.low'), '0\n');
  writeFileSync(join(dir, 'cgroup.kill'), '');
  return dir;
}

function env(): ActionEnv {
  const write = (path: string, text: string): void => {
    writes.push({ file: basename(path), value: text });
    if (basename(path) === 'cgroup.kill' && text === '1') {
      const procs = join(dirname(path), 'cgroup.procs');
      for (const pid of readFileSync(procs, 'utf8').split('\n').filter(Boolean).map(Number)) {
        if (!allowed().has(pid)) throw new Error(`test safety: PID ${pid} was not started by this test`);
        process.kill(pid, 'SIGKILL');
      }
      writeFileSync(procs, '');
      writeFileSync(join(dirname(path), 'memory.current'), '0\n');
      return;
    }
    writeFileSync(path, text);
  };
  return actionEnv({
    processes: new LiveProcessControl(proc, proc.stat().bootTimeSeconds, () => {
      throw new Error('v2 actions must not signal processes one by one');
    }, write),
    cgroups: new LiveCgroupControl({ version: 'v2', root }, files, write),
    writeFile: write,
    dropCachesPath: join(root, 'drop_caches'),
    protectSshd: { oomScoreAdj: 0, memoryLowBytes: 64 * 1024 * 1024 },
  });
}

describe('cgroup v2 actions', () => {
  it('throttle writes memory.high at the configured share of memory.current', async () => {
    const dir = fakeCgroup('headroom.slice/job-throttle', [], 800 * 1024 * 1024);
    const plan: Plan = { kind: 'plan', action: 'throttle', target: { kind: 'cgroup', path: '/headroom.slice/job-throttle', pids: [] }, reason: 'test', targetBytes: 0 };
    const r = await throttle.run(plan, env());
    expect(r.result).toBe('success');
    expect(readFileSync(join(dir, 'memory.high'), 'utf8')).toBe(String(400 * 1024 * 1024));
  });

  it('stop_cgroup writes 1 to cgroup.kill, never signals tasks one by one, and confirms the cgroup is empty', async () => {
    const t = await spawnTree();
    trees.push(t);
    fakeCgroup('headroom.slice/job-kill', t.pids, 300 * 1024 * 1024);
    const plan: Plan = { kind: 'plan', action: 'stop_cgroup', target: { kind: 'cgroup', path: '/headroom.slice/job-kill', pids: t.pids }, reason: 'test', targetBytes: 0 };
    const r = await stopCgroup.run(plan, env());
    expect(r).toMatchObject({ result: 'success', before: { tasks: 3 }, after: { tasks: 0 }, freedBytes: 300 * 1024 * 1024 });
    expect(r.detail).toMatch(/^cgroup\.kill in \/headroom\.slice\/job-kill/);
    expect(writes).toContainEqual({ file: 'cgroup.kill', value: '1' });
    for (let i = 0; i < 1500 && t.pids.some((p) => identity(p).alive); i++) await new Promise((res) => setTimeout(res, 20));
    expect(t.pids.some((p) => identity(p).alive)).toBe(false);
  });

  it('protect sets memory.low on the protected process\'s cgroup', async () => {
    const t = await spawnTree();
    trees.push(t);
    const dir = fakeCgroup('system.slice/ssh.service', [t.pid], 20 * 1024 * 1024);
    const plan: Plan = {
      kind: 'plan',
      action: 'protect',
      target: { kind: 'process', root: { pid: t.pid, startTime: t.startTime }, tree: [{ pid: t.pid, startTime: t.startTime }], comm: 'sh', cmdline: [], cgroup: '/system.slice/ssh.service' },
      reason: 'test',
      targetBytes: 0,
    };
    const r = await protect.run(plan, env());
    expect(readFileSync(join(dir, 'memory.low'), 'utf8')).toBe(String(64 * 1024 * 1024));
    expect(r.detail).toMatch(/memory\.low of \/system\.slice\/ssh\.service = 64\.0 MiB/);
  });
});
