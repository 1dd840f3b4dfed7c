import { formatBytes } from '../config/units.js';
import type { Plan } from '../policy/types.js';
import type { Action, ActionEnv, ActionReport } from './action.js';
import { errorMessage } from '../logging/logger.js';

/**
 * Protects a process (sshd at agent start): lowers its oom_score_adj (never raises it) and, on cgroup v2,
 * sets memory.low on its cgroup so reclaim spares it. Children forked later inherit oom_score_adj.
 */
export const protect: Action = {
  name: 'protect',
  run(plan: Plan, env: ActionEnv): Promise<ActionReport> {
    if (plan.target.kind !== 'process') throw new Error(`protect needs a process target, got ${plan.target.kind}`);
    const started = env.monotonic();
    const wanted = env.protectSshd.oomScoreAdj;
    const targets = plan.target.tree.filter((id) => env.processes.identify(id.pid)?.startTime === id.startTime);
    const adjBefore = targets.map((id) => env.processes.oomScoreAdj(id.pid));
    const before = { processes: targets.length, oom_score_adj: Math.min(...adjBefore, 1000) };
    const cgroup = plan.target.cgroup;
    const memoryLow = env.protectSshd.memoryLowBytes;
    const setLow = memoryLow !== undefined && env.cgroups?.version === 'v2' && cgroup !== undefined && cgroup !== '/';
    const steps: string[] = [];
    if (env.dryRun) {
      return Promise.resolve({ action: 'protect', dryRun: true, result: 'dry_run', detail: `dry run: would set oom_score_adj ${wanted} on ${targets.map((t) => t.pid).join(', ')}${setLow ? ` and memory.low ${formatBytes(memoryLow)} on ${cgroup}` : ''}`, before, after: before, durationSeconds: env.monotonic() - started, signalled: [], remaining: [] });
    }
    targets.forEach((id, i) => {
      if ((adjBefore[i] ?? 0) > wanted) {
        try {
          env.processes.setOomScoreAdj(id.pid, wanted);
          steps.push(`oom_score_adj of PID ${id.pid}: ${adjBefore[i]} → ${wanted}`);
        } catch (error) {
          // Lowering needs CAP_SYS_RESOURCE: reported (result "failed"), not thrown, so memory.low still applies.
          steps.push(`oom_score_adj of PID ${id.pid} not changed: ${errorMessage(error)}`);
        }
      } else steps.push(`oom_score_adj of PID ${id.pid} already ${adjBefore[i]}`);
    });
    if (setLow && env.cgroups !== undefined && cgroup !== undefined && memoryLow !== undefined) {
      env.cgroups.write(cgroup, 'memory.low', String(memoryLow));
      steps.push(`memory.low of ${cgroup} = ${formatBytes(memoryLow)}`);
    } else if (memoryLow !== undefined) steps.push('memory.low not set (needs cgroup v2 and a non-root cgroup)');
    const adjAfter = targets.map((id) => env.processes.oomScoreAdj(id.pid));
    return Promise.resolve({
      action: 'protect',
      dryRun: false,
      result: adjAfter.every((a) => a <= wanted) ? 'success' : 'failed',
      detail: steps.join('; '),
      before,
      after: { processes: targets.length, oom_score_adj: Math.max(...adjAfter, -1000) },
      durationSeconds: env.monotonic() - started,
      signalled: [],
      remaining: [],
    });
  },
};
