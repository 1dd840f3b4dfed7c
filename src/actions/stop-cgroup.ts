import type { Plan, ProcessIdentity } from '../policy/types.js';
import { parseSingleNumber } from '../procfs/parse/keyed.js';
import { errorCode } from '../procfs/file-reader.js';
import { waitUntil, type Action, type ActionEnv, type ActionReport, type CgroupControl } from './action.js';

const MAX_ROUNDS = 50;

function usage(cg: CgroupControl, path: string): number | undefined {
  const text = cg.read(path, cg.version === 'v2' ? 'memory.current' : 'memory.usage_in_bytes');
  return text === undefined ? undefined : parseSingleNumber('usage', text);
}

/**
 * Stops every task of a cgroup and its descendants: v2 writes 1 to cgroup.kill; v1 (or a v2 kernel before
 * 5.14 without cgroup.kill) sends SIGKILL to every task, repeated until the cgroup is empty.
 */
export const stopCgroup: Action = {
  name: 'stop_cgroup',
  async run(plan: Plan, env: ActionEnv): Promise<ActionReport> {
    if (plan.target.kind !== 'cgroup') throw new Error(`stop_cgroup needs a cgroup target, got ${plan.target.kind}`);
    const cg = env.cgroups;
    const path = plan.target.path;
    if (cg === undefined) throw new Error('no cgroup memory controller on this machine');
    if (path === '/' || path.length === 0) throw new Error('refusing to stop the root cgroup');
    const started = env.monotonic();
    const usageBefore = usage(cg, path) ?? 0;
    const pidsBefore = cg.pids(path);
    const before = { tasks: pidsBefore.length, usage_bytes: usageBefore };
    if (env.dryRun) {
      const how = cg.version === 'v2' ? 'write 1 to cgroup.kill (SIGKILL every task where the kernel has none)' : 'SIGKILL every task until empty';
      return { action: 'stop_cgroup', dryRun: true, result: 'dry_run', detail: `dry run: would ${how} in ${path} (${pidsBefore.length} tasks)`, before, after: before, durationSeconds: env.monotonic() - started, signalled: [], remaining: [] };
    }
    const signalled: ProcessIdentity[] = [];
    let how: string;
    // cgroup.kill is write-only (reading it fails with EINVAL on a real kernel), so it is written, not probed:
    // only a kernel before 5.14, which has no such file, falls back to signalling every task.
    if (cg.version === 'v2' && writeCgroupKill(cg, path)) {
      how = 'cgroup.kill';
      await waitUntil(env, env.confirmTimeoutMs, () => cg.pids(path).length === 0);
    } else {
      how = 'SIGKILL to every task';
      for (let round = 0; round < MAX_ROUNDS; round++) {
        const pids = cg.pids(path);
        if (pids.length === 0) break;
        for (const pid of pids) {
          const id = env.processes.identify(pid);
          if (id !== undefined && env.processes.signal(id, 'SIGKILL') === 'sent') signalled.push({ pid: id.pid, startTime: id.startTime });
        }
        await env.sleep(env.pollMs);
      }
    }
    const left = cg.pids(path);
    const remaining = left.map((pid) => env.processes.identify(pid)).filter((x): x is NonNullable<typeof x> => x !== undefined);
    const usageAfter = usage(cg, path) ?? 0;
    return {
      action: 'stop_cgroup',
      dryRun: false,
      result: remaining.length === 0 ? 'success' : remaining.length < pidsBefore.length ? 'partial' : 'failed',
      detail: `${how} in ${path}: ${pidsBefore.length} tasks before, ${remaining.length} after`,
      before,
      after: { tasks: remaining.length, usage_bytes: usageAfter },
      freedBytes: Math.max(0, usageBefore - usageAfter),
      durationSeconds: env.monotonic() - started,
      signalled,
      remaining: remaining.map((r) => ({ pid: r.pid, startTime: r.startTime })),
    };
  },
};

/** Writes 1 to the cgroup's cgroup.kill; false when the kernel has no cgroup.kill (ENOENT), other errors throw. */
function writeCgroupKill(cg: CgroupControl, path: string): boolean {
  try {
    cg.write(path, 'cgroup.kill', '1');
    return true;
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return false;
    throw error;
  }
}
