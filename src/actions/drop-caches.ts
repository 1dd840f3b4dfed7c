import type { Plan } from '../policy/types.js';
import type { Action, ActionEnv, ActionReport } from './action.js';

/**
 * Drops the clean page cache (writes 1 to /proc/sys/vm/drop_caches). Opt-in and rarely useful: the kernel
 * reclaims page cache by itself under pressure, and MemAvailable already counts it; this only helps when a
 * person wants the numbers to look free. Never drops dentries/inodes.
 */
export const dropCaches: Action = {
  name: 'drop_caches',
  run(_plan: Plan, env: ActionEnv): Promise<ActionReport> {
    const started = env.monotonic();
    const read = (): Record<string, number> => {
      const m = env.meminfo();
      return { available_bytes: m.get('MemAvailable') ?? 0, cached_bytes: m.get('Cached') ?? 0 };
    };
    const before = read();
    if (env.dryRun) {
      return Promise.resolve({ action: 'drop_caches', dryRun: true, result: 'dry_run', detail: `dry run: would write 1 to ${env.dropCachesPath}`, before, after: before, durationSeconds: env.monotonic() - started, signalled: [], remaining: [] });
    }
    env.writeFile(env.dropCachesPath, '1');
    const after = read();
    return Promise.resolve({
      action: 'drop_caches',
      dryRun: false,
      result: 'success',
      detail: `wrote 1 to ${env.dropCachesPath}`,
      before,
      after,
      freedBytes: Math.max(0, (before.cached_bytes ?? 0) - (after.cached_bytes ?? 0)),
      durationSeconds: env.monotonic() - started,
      signalled: [],
      remaining: [],
    });
  },
};
