import { decide } from '../../policy/decide.js';
import type { Decision, DecisionRequest, PolicySettings, Snapshot } from '../../policy/types.js';
import type { SnapshotCache, SnapshotRequest } from '../snapshot.js';
import type { CriticalTrigger } from '../trigger.js';

/** What a critical trigger is about: the policy's request and the snapshot it needs. */
export interface Question {
  readonly decision: DecisionRequest;
  readonly snapshot: SnapshotRequest;
}

/**
 * The question a critical trigger asks. For a guard watching a cgroup (host target `within` it), only that
 * cgroup's processes are read: every candidate lives there, and a scan of a few PIDs instead of all of /proc
 * keeps the guard's time to act independent of the machine's process count (docs/guard.md).
 */
export function questionFor(trigger: CriticalTrigger): Question | undefined {
  if (!trigger.target.ok) return undefined;
  const target = trigger.target.target;
  const within = target.kind === 'host' && target.within !== undefined && target.within === trigger.scope ? target.within : undefined;
  return {
    decision: { alertName: trigger.alertName, target },
    snapshot: {
      scope: trigger.scope,
      cgroup: target.kind === 'cgroup' ? target.path : undefined,
      ...(within !== undefined ? { processesWithin: within } : {}),
    },
  };
}

/**
 * Stage 2, snapshot and decide. A snapshot shared with other triggers (the receiver's batch) may predate the
 * process the alert names (a job that just started): a refusal on a cached view is decided again on a fresh
 * read; a snapshot read for this trigger is not read twice.
 */
export async function snapshotAndDecide(q: Question, cache: SnapshotCache, settings: PolicySettings): Promise<{ snap: Snapshot; decision: Decision }> {
  let snap = await cache.get(q.snapshot);
  let decision = decide(q.decision, snap, settings);
  if (decision.kind === 'refusal' && cache.servedFromCache(q.snapshot)) {
    snap = await cache.fresh(q.snapshot);
    decision = decide(q.decision, snap, settings);
  }
  return { snap, decision };
}

/** Stage 4, re-check (earlyoom's rule): read again and decide again right before acting. */
export async function recheck(q: Question, cache: SnapshotCache, settings: PolicySettings): Promise<{ snap: Snapshot; decision: Decision }> {
  const snap = await cache.fresh(q.snapshot);
  return { snap, decision: decide(q.decision, snap, settings) };
}
