import type { HeadroomConfig } from '../config/schema.js';
import type { SystemCalls } from '../domain/world.js';
import type { Logger } from '../logging/logger.js';
import { errorMessage } from '../logging/logger.js';
import type { ProcFs } from '../procfs/procfs.js';

/**
 * Makes the agent harder to starve: lower its own oom_score_adj (the kernel OOM killer then picks the
 * runaway job, not the guard) and raise its CPU priority. Node cannot mlockall(2); the other half of staying
 * responsive is that the guard's poll reads two small files into a reused buffer and allocates almost nothing,
 * and the systemd unit gives the agent's cgroup MemoryMin= so its pages are not reclaimed (docs/guard.md).
 * Each step needs a privilege (CAP_SYS_RESOURCE, CAP_SYS_NICE); a missing one is logged, not fatal.
 */
export function hardenSelf(pid: number, proc: ProcFs, system: Pick<SystemCalls, 'writeFile' | 'setPriority'>, logger: Logger): string[] {
  const done: string[] = [];
  try {
    system.writeFile(proc.path(String(pid), 'oom_score_adj'), '-900');
    done.push('oom_score_adj -900');
  } catch (error) {
    logger.warn("guard: could not lower the agent's oom_score_adj", { error: errorMessage(error) });
  }
  try {
    system.setPriority(pid, -5);
    done.push('nice -5');
  } catch (error) {
    logger.warn("guard: could not raise the agent's CPU priority", { error: errorMessage(error) });
  }
  return done;
}

/**
 * The composition root's step (src/agent/agent.ts), also run by the receiver benchmark: `guard.harden_self`
 * hardens the agent whenever it can remediate — the guard or the receiver on — since both paths must run
 * while a job thrashes the machine (the receiver's accept path competes for CPU with the jobs it is about,
 * docs/benchmarks.md "Receiver"). An exporter-only agent is left as it is. Returns the steps taken.
 */
export function hardenAgent(config: Pick<HeadroomConfig, 'guard' | 'receiver'>, pid: number, proc: ProcFs, system: Pick<SystemCalls, 'writeFile' | 'setPriority'>, logger: Logger): string[] {
  if (!config.guard.harden_self || !(config.guard.enabled || config.receiver.enabled)) return [];
  return hardenSelf(pid, proc, system, logger);
}
