import type { PolicySettings, Refusal } from './types.js';

/**
 * The rate limit (pure): at most N actions per window on this host and a cooldown after each. `actionTimes`
 * are the epoch milliseconds of earlier real (not dry-run) actions.
 */
export function checkLimits(actionTimes: readonly number[], nowMs: number, limits: PolicySettings['limits']): Refusal | undefined {
  const last = actionTimes.length === 0 ? undefined : Math.max(...actionTimes);
  if (last !== undefined && nowMs - last < limits.cooldownMs) {
    const wait = Math.ceil((limits.cooldownMs - (nowMs - last)) / 1000);
    return { kind: 'refusal', reasonCode: 'cooldown', reason: `the previous action was ${Math.round((nowMs - last) / 1000)} s ago; cooldown for another ${wait} s` };
  }
  const inWindow = actionTimes.filter((t) => nowMs - t < limits.windowMs).length;
  if (inWindow >= limits.actionsPerWindow) {
    return {
      kind: 'refusal',
      reasonCode: 'rate_limited',
      reason: `${inWindow} actions in the last ${Math.round(limits.windowMs / 60000)} min already (limit ${limits.actionsPerWindow})`,
    };
  }
  return undefined;
}
