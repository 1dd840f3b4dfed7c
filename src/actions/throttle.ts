import { formatBytes } from '../config/units.js';
import type { Plan } from '../policy/types.js';
import { parseSingleNumber } from '../procfs/parse/keyed.js';
import type { Action, ActionEnv, ActionReport } from './action.js';

const PAGE = 4096;

/** -1 stands for "no limit" ("max" in v2, PAGE_COUNTER_MAX in v1) in before/after numbers. */
function limitValue(text: string | undefined): number {
  if (text === undefined || text.trim() === 'max') return -1;
  const n = parseSingleNumber('limit', text);
  return n >= 2 ** 62 ? -1 : n;
}

/**
 * Throttles instead of killing: sets v2 memory.high (the kernel reclaims and slows the cgroup's allocations
 * above it) or the v1 soft limit (reclaimed first under global pressure) to a share of current usage.
 */
export const throttle: Action = {
  name: 'throttle',
  run(plan: Plan, env: ActionEnv): Promise<ActionReport> {
    if (plan.target.kind !== 'cgroup') throw new Error(`throttle needs a cgroup target, got ${plan.target.kind}`);
    const cg = env.cgroups;
    const path = plan.target.path;
    if (cg === undefined) throw new Error('no cgroup memory controller on this machine');
    if (path === '/' || path.length === 0) throw new Error('refusing to throttle the root cgroup');
    const started = env.monotonic();
    const file = cg.version === 'v2' ? 'memory.high' : 'memory.soft_limit_in_bytes';
    const usageText = cg.read(path, cg.version === 'v2' ? 'memory.current' : 'memory.usage_in_bytes');
    if (usageText === undefined) throw new Error(`cgroup ${path} does not exist`);
    const usage = parseSingleNumber('usage', usageText);
    const limitBefore = limitValue(cg.read(path, file));
    const target = Math.max(PAGE, Math.floor((usage * env.throttleRatio) / PAGE) * PAGE);
    const before = { usage_bytes: usage, limit_bytes: limitBefore };
    if (env.dryRun) {
      return Promise.resolve({ action: 'throttle', dryRun: true, result: 'dry_run', detail: `dry run: would set ${file} of ${path} to ${formatBytes(target)}`, before, after: before, durationSeconds: env.monotonic() - started, signalled: [], remaining: [] });
    }
    cg.write(path, file, String(target));
    const limitAfter = limitValue(cg.read(path, file));
    const usageAfterText = cg.read(path, cg.version === 'v2' ? 'memory.current' : 'memory.usage_in_bytes');
    const usageAfter = usageAfterText === undefined ? 0 : parseSingleNumber('usage', usageAfterText);
    return Promise.resolve({
      action: 'throttle',
      dryRun: false,
      result: limitAfter === target ? 'success' : 'failed',
      detail: `set ${file} of ${path} to ${formatBytes(target)} (was ${limitBefore < 0 ? 'unlimited' : formatBytes(limitBefore)}; reads back ${limitAfter < 0 ? 'unlimited' : formatBytes(limitAfter)})`,
      before,
      after: { usage_bytes: usageAfter, limit_bytes: limitAfter },
      freedBytes: Math.max(0, usage - usageAfter),
      durationSeconds: env.monotonic() - started,
      signalled: [],
      remaining: [],
    });
  },
};
