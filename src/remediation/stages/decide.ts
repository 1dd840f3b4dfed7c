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

/** Refusals about the named process itself: decide() reaches them from that one PID's entry alone. */
const ABOUT_THE_PROCESS: ReadonlySet<string> = new Set(['target_gone', 'pid_reused']);

/**
 * Whether a refusal on a shared snapshot stands now, judged from the alert's own PID read again alone: the
 * process is still gone (or still another process). Undefined when that cannot settle it (another refusal,
 * another target, a reader that cannot read one PID, or the process is there now): then read everything.
 */
function confirmedFromThePid(q: Question, snap: Snapshot, decision: Decision, cache: SnapshotCache, settings: PolicySettings): Decision | undefined {
  const target = q.decision.target;
  if (decision.kind !== 'refusal' || !ABOUT_THE_PROCESS.has(decision.reasonCode) || target.kind !== 'process') return undefined;
  const now = cache.processesNow([target.pid]);
  if (now === undefined) return undefined;
  const again = decide(q.decision, { ...snap, processes: now }, settings);
  return again.kind === 'refusal' && ABOUT_THE_PROCESS.has(again.reasonCode) ? again : undefined;
}

/**
 * Stage 2, snapshot and decide. A snapshot shared with other triggers (the receiver's batch) may predate the
 * process the alert names (a job that just started): a refusal on a cached view is decided again on a fresh
 * read; a snapshot read for this trigger is not read twice. When the refusal is that the named process is
 * gone (or its PID reused), its one PID is read again first: still gone, the refusal stands without a scan of
 * all of /proc (a flood of alerts for processes that have exited would otherwise cost one full scan each).
 */
export async function snapshotAndDecide(q: Question, cache: SnapshotCache, settings: PolicySettings): Promise<{ snap: Snapshot; decision: Decision }> {
  let snap = await cache.get(q.snapshot);
  let decision = decide(q.decision, snap, settings);
  if (decision.kind === 'refusal' && cache.servedFromCache(q.snapshot)) {
    const confirmed = confirmedFromThePid(q, snap, decision, cache, settings);
    if (confirmed !== undefined) return { snap, decision: confirmed };
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
