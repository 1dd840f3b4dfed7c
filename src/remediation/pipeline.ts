import { createHash } from 'node:crypto';
import type { Action, ActionEnv, ActionReport } from '../actions/action.js';
import { ACTIONS } from '../actions/index.js';
import type { AuditInput, AuditSink } from '../audit/audit-log.js';
import { commandKey } from '../incidents/render.js';
import { incidentId, type IncidentStore } from '../incidents/store.js';
import type { IncidentRecord } from '../incidents/types.js';
import type { Logger } from '../logging/logger.js';
import type {
  DecisionSource,
  Notification,
  NotificationSink,
  ProcessSummary,
  RemediationAction,
} from '../notify/events.js';
import { decide } from '../policy/decide.js';
import { checkLimits } from '../policy/limits.js';
import type { DecisionRequest, Plan, PolicySettings, RefusalCode, Snapshot } from '../policy/types.js';
import { shortCmdline } from '../procfs/process-details.js';
import { startTimeLabel } from '../procfs/process-table.js';
import type { IdempotencyStore } from './idempotency.js';
import type { RemediationMetrics } from './metrics.js';
import { SnapshotCache, type SnapshotReader, type SnapshotRequest } from './snapshot.js';
import type { CriticalTrigger, Outcome, ResolvedTrigger, Trigger, WarningTrigger } from './trigger.js';

export interface PipelineDeps {
  /** This host's name in notifications and incident reports. */
  readonly host: string;
  readonly settings: PolicySettings;
  /** Global dry-run switch: decide, audit, report — change nothing. */
  readonly dryRun: boolean;
  /** False when no receiver credential is configured: alerts from the receiver decide and notify, never act. */
  readonly actionsEnabled: boolean;
  /** A refused key is re-evaluated when it arrives again after this long. */
  readonly refusalRecheckMs: number;
  readonly snapshots: SnapshotReader;
  readonly actionEnv: Omit<ActionEnv, 'dryRun'>;
  /** The actions by name (ACTIONS unless a test injects others). */
  readonly actions?: Readonly<Record<RemediationAction, Action>>;
  /** Wall clock. */
  readonly now: () => Date;
  readonly audit: AuditSink;
  readonly state: IdempotencyStore;
  readonly incidents: IncidentStore;
  readonly sink: NotificationSink;
  readonly metrics: RemediationMetrics;
  readonly logger: Logger;
}

const TOP_PROCESSES = 5;
const FIRST_WARNING_LOOKBACK_MS = 24 * 3600 * 1000;

function notificationId(host: string, kind: string, key: string): string {
  return createHash('sha256').update(`${host}\u0000${kind}\u0000${key}`).digest('hex').slice(0, 24);
}

/** A process as people see it in messages and reports (from a snapshot). */
export function summarizeProcess(pid: number, snap: Snapshot): ProcessSummary | undefined {
  const e = snap.processes.byPid.get(pid);
  if (e === undefined) return undefined;
  const d = snap.details.get(pid);
  const tree = snap.processes.treeTotals(pid);
  return {
    pid,
    startTime: startTimeLabel(e),
    comm: e.comm,
    user: d?.uid !== undefined ? `uid ${d.uid}` : undefined,
    cmdline: shortCmdline(d?.cmdline ?? [], e.comm, 160),
    residentBytes: e.residentBytes,
    treeResidentBytes: tree.residentBytes,
    treeProcesses: tree.processes,
    runtimeSeconds: Math.max(0, Math.round((snap.at.getTime() / 1000 - e.startTimeSeconds) * 100) / 100),
    cpuSeconds: e.cpuSeconds,
    cgroup: d?.cgroup,
  };
}

function topProcesses(snap: Snapshot, n: number): ProcessSummary[] {
  return snap.processes.entries
    .filter((e) => !e.isKernelThread)
    .sort((a, b) => b.residentBytes - a.residentBytes || a.pid - b.pid)
    .slice(0, n)
    .map((e) => summarizeProcess(e.pid, snap))
    .filter((p): p is ProcessSummary => p !== undefined);
}

/**
 * The remediation pipeline shared by the receiver and the local guard:
 *   trigger → idempotency → snapshot → decide → limits → re-read → re-decide → claim → act → re-read →
 *   audit → incident report → notification.
 * Critical triggers are handled one at a time (an internal chain), so the receiver and the guard never act
 * concurrently and the rate limit sees every action.
 */
export class RemediationPipeline {
  private tail: Promise<void> = Promise.resolve();
  /** Top processes per snapshot (warnings arriving together share one snapshot). */
  private readonly tops = new WeakMap<Snapshot, ProcessSummary[]>();
  private readonly actions: Readonly<Record<RemediationAction, Action>>;

  constructor(private readonly deps: PipelineDeps) {
    this.actions = deps.actions ?? ACTIONS;
  }

  /** Whether this trigger would be ignored as a repeat now (the receiver checks before queueing). */
  isDuplicate(trigger: Trigger): boolean {
    const rec = this.deps.state.get(trigger.key);
    if (rec === undefined) return false;
    if (rec.state === 'refused') return this.deps.now().getTime() - rec.at < this.deps.refusalRecheckMs;
    return true;
  }

  /** Audits and counts a trigger dropped as a repeat (also used by the receiver for queued duplicates). */
  recordDuplicate(trigger: Trigger, route?: string): Outcome {
    this.deps.metrics.duplicate(trigger.source);
    const rec = this.deps.state.get(trigger.key);
    this.audit({
      source: trigger.source,
      event: 'duplicate',
      reasonCode: 'duplicate',
      reason: rec ? `already handled (${rec.state} at ${new Date(rec.at).toISOString()})` : 'already queued',
      alertName: trigger.alertName,
      key: trigger.key,
      route,
    });
    return { kind: 'duplicate' };
  }

  /**
   * Handles one trigger. `cache` lets a batch share one snapshot for its first decisions; pass nothing for a
   * fresh read. Resolves with what was done; rejects only on I/O failures outside the action (audited).
   */
  handle(trigger: Trigger, cache: SnapshotCache = new SnapshotCache(this.deps.snapshots)): Promise<Outcome> {
    const run = this.tail.then(() => this.process(trigger, cache));
    this.tail = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private async process(trigger: Trigger, cache: SnapshotCache): Promise<Outcome> {
    if (this.isDuplicate(trigger)) return this.recordDuplicate(trigger);
    switch (trigger.kind) {
      case 'critical':
        return this.critical(trigger, cache);
      case 'warning':
        return this.warning(trigger, cache);
      case 'resolved':
        return this.resolved(trigger);
    }
  }

  private audit(entry: AuditInput): void {
    this.deps.audit.append({ ts: this.deps.now().toISOString(), ...entry });
  }

  private publish(n: Notification): void {
    this.deps.sink.publish(n);
  }

  private refuse(
    trigger: CriticalTrigger,
    code: RefusalCode,
    reason: string,
    snap?: Snapshot,
    candidates?: readonly number[],
    extra: Record<string, unknown> = {},
    /** The action ran (and failed): the refusal record keeps counting against the rate limit. */
    counted = false,
  ): Outcome {
    const now = this.deps.now();
    this.deps.metrics.refusal(code, trigger.source);
    if (counted) this.deps.state.set({ key: trigger.key, state: 'refused', at: now.getTime(), counted: true }, true);
    else this.deps.state.set({ key: trigger.key, state: 'refused', at: now.getTime() });
    this.audit({
      source: trigger.source,
      event: 'refusal',
      reasonCode: code,
      reason,
      alertName: trigger.alertName,
      key: trigger.key,
      fingerprint: trigger.fingerprint,
      memory: snap?.memory,
      ...extra,
    });
    this.publish({
      kind: 'refusal',
      id: notificationId(this.deps.host, `refusal-${now.getTime()}`, trigger.key),
      host: this.deps.host,
      at: now.toISOString(),
      alertName: trigger.alertName,
      source: trigger.source,
      reasonCode: code,
      reason,
      memory: snap?.memory,
      candidates: snap && candidates ? candidates.map((pid) => summarizeProcess(pid, snap)).filter((p): p is ProcessSummary => p !== undefined) : undefined,
    });
    return { kind: 'refusal', reasonCode: code, reason };
  }

  private async critical(trigger: CriticalTrigger, cache: SnapshotCache): Promise<Outcome> {
    const { deps } = this;
    if (trigger.refuse) return this.refuse(trigger, trigger.refuse.code, trigger.refuse.reason);
    if (!trigger.target.ok) return this.refuse(trigger, 'bad_label', trigger.target.reason);
    const target = trigger.target.target;
    const req: DecisionRequest = { alertName: trigger.alertName, target };
    const snapReq: SnapshotRequest = { scope: trigger.scope, cgroup: target.kind === 'cgroup' ? target.path : undefined };
    let first = cache.get(snapReq);
    let d1 = decide(req, first, deps.settings);
    if (d1.kind === 'refusal' && cache.servedFromCache(snapReq)) {
      // A shared snapshot may predate the process the alert names (a job that just started): never refuse on
      // a cached view, read again first. A snapshot read for this trigger is not read twice.
      first = cache.fresh(snapReq);
      d1 = decide(req, first, deps.settings);
    }
    if (d1.kind === 'refusal') return this.refuse(trigger, d1.reasonCode, d1.reason, first, d1.candidates);
    // The credential gate is about trusting webhook callers; the guard's own readings need no credential.
    if (!deps.actionsEnabled && trigger.source === 'receiver') {
      return this.refuse(trigger, 'actions_disabled', `actions are disabled (no receiver credential configured); would have run ${d1.action}: ${d1.reason}`, first, undefined, {
        plan: { action: d1.action, target: d1.target },
      });
    }
    if (!deps.dryRun) {
      const limited = checkLimits(deps.state.actionTimes(), deps.now().getTime(), deps.settings.limits);
      if (limited) return this.refuse(trigger, limited.reasonCode, `${limited.reason}; would have run ${d1.action}: ${d1.reason}`, first);
    }
    // earlyoom's rule: re-read and re-decide right before acting.
    const before = cache.fresh(snapReq);
    const plan = decide(req, before, deps.settings);
    if (plan.kind === 'refusal') return this.refuse(trigger, plan.reasonCode, `re-checked before acting: ${plan.reason}`, before, plan.candidates);
    return this.act(trigger, plan, before, cache, snapReq);
  }

  private async act(trigger: CriticalTrigger, plan: Plan, before: Snapshot, cache: SnapshotCache, snapReq: SnapshotRequest): Promise<Outcome> {
    const { deps } = this;
    const dryRun = deps.dryRun;
    const actionAt = deps.now();
    deps.state.set({ key: trigger.key, state: 'in_progress', at: actionAt.getTime() }, true);
    const rootPid = plan.target.kind === 'process' ? plan.target.root.pid : undefined;
    const process = rootPid === undefined ? undefined : summarizeProcess(rootPid, before);
    const targetInfo = { process, cgroup: plan.target.kind === 'cgroup' ? plan.target.path : undefined };
    let report: ActionReport;
    try {
      report = await this.actions[plan.action].run(plan, { ...deps.actionEnv, dryRun });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      deps.state.set({ key: trigger.key, state: 'acted', at: deps.now().getTime(), counted: !dryRun }, true);
      deps.metrics.action(plan.action, 'error', trigger.source);
      this.audit({ source: trigger.source, event: 'action', reasonCode: 'error', reason: `${plan.action} failed: ${message}`, alertName: trigger.alertName, key: trigger.key, action: plan.action, dryRun, target: plan.target });
      deps.logger.error('remediation action failed', { action: plan.action, error: message });
      return this.refuse(trigger, 'action_failed', `${plan.action} failed: ${message}`, before, undefined, {}, !dryRun);
    }
    cache.clear();
    const after = cache.get(snapReq);
    const recovered = after.memory.usedRatio < deps.settings.recovered.hostUsedBelow;
    const ttr = recovered && !dryRun ? Math.max(0, (after.at.getTime() - trigger.startsAt.getTime()) / 1000) : undefined;
    deps.state.set({ key: trigger.key, state: dryRun ? 'dry_run' : 'acted', at: actionAt.getTime(), counted: !dryRun }, true);
    const firstWarning = this.firstWarning(trigger.startsAt);
    const subject = process ? `pid${process.pid}` : (targetInfo.cgroup ?? 'host');
    const incident: IncidentRecord = {
      id: incidentId(actionAt, subject),
      host: deps.host,
      source: trigger.source,
      alertName: trigger.alertName,
      action: plan.action,
      dryRun,
      result: report.result,
      reason: plan.reason,
      detail: report.detail,
      target: targetInfo,
      commandKey: plan.target.kind === 'process' ? commandKey(plan.target.comm, plan.target.cmdline) : undefined,
      timeline: {
        firstWarning: firstWarning?.toISOString(),
        critical: trigger.startsAt.toISOString(),
        action: actionAt.toISOString(),
        recovery: ttr !== undefined ? after.at.toISOString() : undefined,
      },
      memoryBefore: before.memory,
      memoryAfter: after.memory,
      actionBefore: report.before,
      actionAfter: report.after,
      freedBytes: report.freedBytes,
      timeToResolutionSeconds: ttr,
    };
    let saved: { record: IncidentRecord; path: string } | undefined;
    try {
      saved = deps.incidents.save(incident);
    } catch (error) {
      deps.logger.error('incident report not written', { error: error instanceof Error ? error.message : String(error) });
    }
    deps.metrics.action(plan.action, report.result, trigger.source);
    this.audit({
      source: trigger.source,
      event: 'action',
      reasonCode: report.result,
      reason: plan.reason,
      alertName: trigger.alertName,
      key: trigger.key,
      fingerprint: trigger.fingerprint,
      action: plan.action,
      dryRun,
      target: plan.target,
      detail: report.detail,
      before: report.before,
      after: report.after,
      freedBytes: report.freedBytes,
      actionStartedAt: actionAt.toISOString(),
      memoryBefore: before.memory,
      memoryAfter: after.memory,
      signalled: report.signalled,
      remaining: report.remaining,
      incidentId: saved?.record.id,
    });
    this.publish({
      kind: 'action',
      id: notificationId(deps.host, 'action', trigger.key),
      host: deps.host,
      at: actionAt.toISOString(),
      alertName: trigger.alertName,
      source: trigger.source,
      action: plan.action,
      dryRun,
      target: targetInfo,
      reason: `${plan.reason}. ${report.detail}`,
      memoryBefore: before.memory,
      memoryAfter: after.memory,
      freedBytes: report.freedBytes,
      timeToResolutionSeconds: ttr,
      incidentId: saved?.record.id,
      incidentReportPath: saved?.path,
    });
    return { kind: 'action', action: plan.action, result: report.result, dryRun, incidentId: saved?.record.id };
  }

  private firstWarning(criticalAt: Date): Date | undefined {
    const from = criticalAt.getTime() - FIRST_WARNING_LOOKBACK_MS;
    let first: number | undefined;
    for (const w of this.deps.state.warnings()) {
      const s = w.startsAt as number;
      if (s >= from && s <= criticalAt.getTime() && (first === undefined || s < first)) first = s;
    }
    return first === undefined ? undefined : new Date(first);
  }

  private warning(trigger: WarningTrigger, cache: SnapshotCache): Outcome {
    const now = this.deps.now();
    const snap = cache.get({});
    this.deps.state.set({ key: trigger.key, state: 'notified', at: now.getTime(), startsAt: trigger.startsAt.getTime(), alertName: trigger.alertName });
    this.audit({ source: trigger.source, event: 'notified', reasonCode: 'warning', reason: trigger.summary, alertName: trigger.alertName, key: trigger.key, memory: snap.memory });
    this.publish({
      kind: 'warning',
      id: notificationId(this.deps.host, 'warning', trigger.key),
      host: this.deps.host,
      at: now.toISOString(),
      alertName: trigger.alertName,
      severity: trigger.severity,
      summary: trigger.summary,
      description: trigger.description,
      startsAt: trigger.startsAt.toISOString(),
      memory: snap.memory,
      topProcesses: this.top(snap),
      predictedExhaustionSeconds: trigger.predictedExhaustionSeconds,
      runbookUrl: trigger.runbookUrl,
    });
    return { kind: 'notified', notification: 'warning' };
  }

  private top(snap: Snapshot): ProcessSummary[] {
    let top = this.tops.get(snap);
    if (top === undefined) {
      top = topProcesses(snap, TOP_PROCESSES);
      this.tops.set(snap, top);
    }
    return top;
  }

  private resolved(trigger: ResolvedTrigger): Outcome {
    const now = this.deps.now();
    this.deps.state.set({ key: trigger.key, state: 'notified', at: now.getTime() });
    this.audit({ source: trigger.source, event: 'notified', reasonCode: 'resolved', reason: `${trigger.alertName} resolved; no action`, alertName: trigger.alertName, key: trigger.key });
    const duration = (trigger.endsAt.getTime() - trigger.startsAt.getTime()) / 1000;
    this.publish({
      kind: 'resolved',
      id: notificationId(this.deps.host, 'resolved', trigger.key),
      host: this.deps.host,
      at: now.toISOString(),
      alertName: trigger.alertName,
      summary: trigger.summary,
      startsAt: trigger.startsAt.toISOString(),
      endsAt: trigger.endsAt.toISOString(),
      durationSeconds: duration >= 0 ? duration : undefined,
    });
    return { kind: 'notified', notification: 'resolved' };
  }
}

/** For the guard: a critical trigger for a threshold crossing of the host or of a watched cgroup. */
export function guardTrigger(crossing: { readonly at: Date; readonly scope?: string; readonly alertName?: string }): CriticalTrigger {
  const scope = crossing.scope;
  return {
    kind: 'critical',
    source: 'guard' satisfies DecisionSource,
    key: `guard|${scope ?? 'host'}|${crossing.at.getTime()}`,
    alertName: crossing.alertName ?? 'HeadroomGuard',
    target: { ok: true, target: scope === undefined ? { kind: 'host' } : { kind: 'host', within: scope } },
    startsAt: crossing.at,
    scope,
  };
}

