import { checkLimits } from '../../policy/limits.js';
import type { Plan, PolicySettings, RefusalCode } from '../../policy/types.js';
import type { CriticalTrigger } from '../trigger.js';

/**
 * Stage 3, limits (pure): the credential gate (webhook callers are trusted only with a credential; the guard's
 * own readings need none), then the rate limit over earlier real actions — failed ones included. Dry runs
 * are never limited (they change nothing).
 */
export function limitRefusal(
  trigger: CriticalTrigger,
  plan: Plan,
  o: { readonly actionsEnabled: boolean; readonly dryRun: boolean; readonly actionTimes: readonly number[]; readonly nowMs: number; readonly limits: PolicySettings['limits'] },
): { readonly code: RefusalCode; readonly reason: string; readonly withPlan: boolean } | undefined {
  if (!o.actionsEnabled && trigger.source === 'receiver') {
    return { code: 'actions_disabled', reason: `actions are disabled (no receiver credential configured); would have run ${plan.action}: ${plan.reason}`, withPlan: true };
  }
  if (o.dryRun) return undefined;
  const limited = checkLimits(o.actionTimes, o.nowMs, o.limits);
  return limited ? { code: limited.reasonCode, reason: `${limited.reason}; would have run ${plan.action}: ${plan.reason}`, withPlan: false } : undefined;
}
