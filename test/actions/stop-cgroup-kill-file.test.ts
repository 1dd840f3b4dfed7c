import { describe, expect, it } from 'vitest';
import type { CgroupControl } from '../../src/actions/action.js';
import { LiveProcessControl } from '../../src/actions/process-control.js';
import { stopCgroup } from '../../src/actions/stop-cgroup.js';
import type { Plan } from '../../src/policy/types.js';
import { proc } from '../receiver/harness.js';
import { actionEnv } from './env.js';

/**
 * cgroup.kill as the kernel has it: write-only. Reading it fails with EINVAL (seen in the Debian 12 guest,
 * test/machine), which made stop_cgroup throw before it wrote anything. On a kernel before 5.14 the file does
 * not exist: the write fails with ENOENT and the action signals every task instead.
 */
function kernelLike(opts: { hasKill: boolean }): CgroupControl {
  return {
    version: 'v2',
    read(_path, file) {
      if (file === 'cgroup.kill') {
        throw Object.assign(new Error(opts.hasKill ? 'EINVAL: invalid argument, read' : 'ENOENT: no such file'), { code: opts.hasKill ? 'EINVAL' : 'ENOENT' });
      }
      return file === 'memory.current' ? '0\n' : undefined;
    },
    write(_path, file, value) {
      if (file === 'cgroup.kill' && !opts.hasKill) throw Object.assign(new Error('ENOENT: no such file or directory'), { code: 'ENOENT' });
      expect(`${file}=${value}`).toBe('cgroup.kill=1');
    },
    pids: () => [],
  };
}

const plan: Plan = { kind: 'plan', action: 'stop_cgroup', target: { kind: 'cgroup', path: '/headroom.slice/job', pids: [] }, reason: 'test', targetBytes: 0 };
const processes = new LiveProcessControl(proc, proc.stat().bootTimeSeconds, () => {
  throw new Error('no process may be signalled in this test');
}, () => {
  throw new Error('no file may be written in this test');
});

describe('stop_cgroup and the real cgroup.kill', () => {
  it('writes 1 to cgroup.kill without reading it first (reading it is EINVAL on a real kernel)', async () => {
    const cg = kernelLike({ hasKill: true });
    const writes: string[] = [];
    const wrapped: CgroupControl = { ...cg, write: (p, f, v) => { cg.write(p, f, v); writes.push(`${f}=${v}`); } };
    const r = await stopCgroup.run(plan, actionEnv({ processes, cgroups: wrapped, writeFile: () => undefined, dropCachesPath: '/nonexistent', protectSshd: { oomScoreAdj: -900 } }));
    expect(r.result).toBe('success');
    expect(r.detail).toMatch(/^cgroup\.kill in \/headroom\.slice\/job/);
    expect(writes).toEqual(['cgroup.kill=1']);
  });

  it('falls back to signalling every task when the kernel has no cgroup.kill (ENOENT on write)', async () => {
    const cg = kernelLike({ hasKill: false });
    const r = await stopCgroup.run(plan, actionEnv({ processes, cgroups: cg, writeFile: () => undefined, dropCachesPath: '/nonexistent', protectSshd: { oomScoreAdj: -900 } }));
    expect(r.result).toBe('success');
    expect(r.detail).toMatch(/^SIGKILL to every task in \/headroom\.slice\/job/);
  });
});
