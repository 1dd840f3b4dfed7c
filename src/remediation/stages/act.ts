import type { Action, ActionEnv } from '../../actions/action.js';
import type { HostFacts } from '../../domain/host.js';
import type { RemediationAction } from '../../domain/remediation.js';
import { errorMessage } from '../../logging/logger.js';
import type { Plan, Snapshot } from '../../policy/types.js';
import type { ActionRecord } from '../action-record.js';
import type { IdempotencyStore } from '../idempotency.js';
import type { SnapshotCache } from '../snapshot.js';
import { captureBeforeAction, type EvidenceDeps, type EvidenceSettings } from '../../evidence/capture.js';
import { notableElsewhere, summarizeProcess } from '../summaries.js';
import type { CriticalTrigger } from '../trigger.js';
import type { Question } from './decide.js';
import type { GrowthSource } from '../growth-source.js';
import { startTimeLabel } from '../../procfs/process-table.js';
import type { IncidentGrowth } from '../../incidents/types.js';

export interface ActDeps {
  readonly host: string;
  readonly hostFacts?: HostFacts;
  readonly dryRun: boolean;
  readonly actions: Readonly<Record<RemediationAction, Action>>;
  readonly actionEnv: Omit<ActionEnv, 'dryRun'>;
  readonly state: IdempotencyStore;
  readonly now: () => Date;
  /** Memory used below this ratio after the action counts as recovered (time to resolution). */
  readonly recoveredBelow: number;
  /** Evidence capture before stopping a victim (issue #11); absent: none. */
  readonly evidence?: { readonly deps: EvidenceDeps; readonly settings: EvidenceSettings };
  /** The agent's short history (issue #11): the victim's growth for the report; absent: no Growth section. */
  readonly growth?: GrowthSource;
}

/** The victim's ancestors in the snapshot, nearest first (PID 1 and anything the snapshot lacks end the chain). */
function ancestorsOf(pid: number, snap: Snapshot): Array<{ pid: number; startTime: string }> {
  const out: Array<{ pid: number; startTime: string }> = [];
  let e = snap.processes.byPid.get(pid);
  for (let i = 0; e !== undefined && i < 64; i++) {
    const parent = snap.processes.byPid.get(e.ppid);
    if (parent === undefined || parent.pid === e.pid || parent.pid === 1) break;
    out.push({ pid: parent.pid, startTime: startTimeLabel(parent) });
    e = parent;
  }
  return out;
}

/** The victim's growth at the action, from the history; a failure is stated in the section, never blocks the action. */
function growthAt(source: GrowthSource | undefined, trigger: CriticalTrigger, plan: Plan, before: Snapshot, startedAt: Date, firstWarning: Date | undefined): { growth?: IncidentGrowth; growthChart?: string } {
  if (source === undefined) return {};
  const t = plan.target;
  const victim = t.kind === 'process' ? { pid: t.root.pid, startTime: t.root.startTime, tree: t.tree, ancestors: ancestorsOf(t.root.pid, before) } : undefined;
  try {
    const r = source.incident(victim, { ...(firstWarning ? { firstWarningMs: firstWarning.getTime() } : {}), criticalMs: trigger.startsAt.getTime(), actionMs: startedAt.getTime() });
    return { growth: r.growth, ...(r.chartSvg !== undefined ? { growthChart: r.chartSvg } : {}) };
  } catch (error) {
    return { growth: { noHistory: `no growth: reading the history failed (${errorMessage(error)})` } };
  }
}

/**
 * Stage 5, act: claim the key durably (at most once, even across a crash), run the action, read memory
 * again. Never throws for a failing action: the failure is part of the returned ActionRecord.
 */
export async function act(trigger: CriticalTrigger, plan: Plan, before: Snapshot, q: Question, cache: SnapshotCache, deps: ActDeps, firstWarning: Date | undefined): Promise<ActionRecord> {
  const startedAt = deps.now();
  deps.state.set({ key: trigger.key, state: 'in_progress', at: startedAt.getTime() }, true);
  const rootPid = plan.target.kind === 'process' ? plan.target.root.pid : undefined;
  const process = rootPid === undefined ? undefined : summarizeProcess(rootPid, before);
  const base = {
    host: deps.host,
    ...(deps.hostFacts ? { hostFacts: deps.hostFacts } : {}),
    trigger,
    plan,
    dryRun: deps.dryRun,
    startedAt,
    target: { process, cgroup: plan.target.kind === 'cgroup' ? plan.target.path : undefined },
    memoryBefore: before.memory,
    firstWarning,
    ...growthAt(deps.growth, trigger, plan, before, startedAt, firstWarning),
  };
  // Evidence (issue #11), before the action: freezes the victim's tree, captures within its budget (skipped when
  // the machine stalls) and returns the env to act with (SIGCONT follows SIGTERM to a frozen process);
  // release() thaws whatever the action did not signal.
  const captured = await captureBeforeAction(deps.evidence?.deps, deps.evidence?.settings, plan, { ...deps.actionEnv, dryRun: deps.dryRun }, { stalling: trigger.stalling === true });
  const withEvidence = {
    ...base,
    ...(captured.evidence ? { evidence: captured.evidence } : {}),
    ...(captured.diagnosis !== undefined ? { diagnosis: captured.diagnosis } : {}),
  };
  let report;
  try {
    report = await deps.actions[plan.action].run(plan, captured.env);
  } catch (error) {
    captured.release();
    return { ...withEvidence, ending: { kind: 'threw', message: errorMessage(error) } };
  }
  captured.release();
  cache.clear();
  const after = await cache.get(q.snapshot);
  const recovered = after.memory.usedRatio < deps.recoveredBelow;
  const elsewhere = notableElsewhere(after) ?? notableElsewhere(before);
  return {
    ...withEvidence,
    ...(elsewhere !== undefined ? { memoryElsewhere: elsewhere } : {}),
    ending: { kind: 'ran', report, memoryAfter: after.memory, ...(recovered && !deps.dryRun ? { recoveredAt: after.at } : {}) },
  };
}
