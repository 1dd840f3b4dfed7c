import type { Action, ActionEnv } from '../actions/action.js';
import { ACTIONS } from '../actions/index.js';
import { stamped, type AuditSink } from '../audit/audit-log.js';
import { describeHost, type HostFacts } from '../domain/host.js';
import type { RemediationAction } from '../domain/remediation.js';
import type { ProcessSummary } from '../domain/summaries.js';
import type { IncidentStore } from '../incidents/store.js';
import { errorMessage, type Logger } from '../logging/logger.js';
import type { Notification, NotificationSink } from '../notify/events.js';
import type { Plan, PolicySettings, RefusalCode, Snapshot } from '../policy/types.js';
import { actionNotification } from './action-record.js';
import type { IdempotencyStore } from './idempotency.js';
import type { RemediationMetrics } from './metrics.js';
import { SnapshotCache, type SnapshotReader } from './snapshot.js';
import { act } from './stages/act.js';
import { questionFor, recheck, snapshotAndDecide, type Question } from './stages/decide.js';
import { duplicateEntry, isRepeat } from './stages/intake.js';
import { limitRefusal } from './stages/limits.js';
import { refusalNotification, resolvedNotification, warningNotification, type Origin } from './stages/notify.js';
import { firstWarning, recordAction, recordNotified, recordRefusal, type RecordDeps } from './stages/record.js';
import type { EvidenceDeps, EvidenceSettings } from '../evidence/capture.js';
import { notableElsewhere, summarizeAll, topProcesses } from './summaries.js';
import type { CriticalTrigger, Disposition, ResolvedTrigger, Trigger, WarningTrigger } from './trigger.js';

export { guardTrigger } from './stages/intake.js';

export interface PipelineDeps {
  /** This host's name in notifications and incident reports. */
  readonly host: string;
  /** What kind of machine this is, read once at agent start (incident reports and notifications). */
  readonly hostFacts?: HostFacts;
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
  /** Monotonic seconds (the age of the snapshot shared by a batch). */
  readonly monotonic?: () => number;
  /** Hands the event loop back between two triggers (setImmediate in the agent), so HTTP is served meanwhile. */
  readonly yieldToLoop?: () => Promise<void>;
  /** At most this many triggers wait (the receiver answers 503 beyond it); the guard's always get in. */
  readonly maxQueue?: number;
  readonly audit: AuditSink;
  readonly state: IdempotencyStore;
  readonly incidents: IncidentStore;
  readonly sink: NotificationSink;
  readonly metrics: RemediationMetrics;
  readonly logger: Logger;
  /** Evidence capture before stopping a victim (issue #11); absent: none. */
  readonly evidence?: { readonly deps: EvidenceDeps; readonly settings: EvidenceSettings };
}

const TOP_PROCESSES = 5;
/** First decisions and warnings of the receiver's batch reuse a snapshot this young (re-read before acting). */
const SHARED_SNAPSHOT_MAX_AGE_MS = 1000;

/** How a trigger enters the queue. */
export interface SubmitOptions {
  /** The webhook route it came from (audit). */
  readonly route?: string;
  /**
   * Share one snapshot with the triggers around it (the receiver's batches; at most 1 s old); otherwise the
   * trigger reads its own (the guard).
   */
  readonly sharedSnapshot?: boolean;
  /** Goes before everything waiting (the guard: the last line of defence never waits behind a flood). */
  readonly urgent?: boolean;
}

export type Submitted = { readonly queued: true; readonly done: Promise<Disposition> } | { readonly queued: false; readonly disposition: Disposition };

interface Job {
  readonly trigger: Trigger;
  readonly cache: SnapshotCache;
  readonly resolve: (d: Disposition) => void;
}

/**
 * Where an alert (or a guard crossing) becomes an action. One queue, drained one trigger at a time, so the
 * receiver and the guard never act concurrently and the rate limit sees every action. Each trigger goes
 * through explicit stages (./stages/):
 *
 *   1 dedupe (intake.ts, at submit) → 2 snapshot and decide (decide.ts) → 3 limits (limits.ts) →
 *   4 re-check (decide.ts) → 5 act (act.ts) → 6 record (record.ts) → 7 notify (notify.ts)
 *
 * An attempt is one ActionRecord (action-record.ts); its audit line, incident report and notification are
 * derived from it.
 */
export class RemediationPipeline {
  private readonly queue: Job[] = [];
  private readonly queuedKeys = new Set<string>();
  private running = false;
  private waiters: Array<() => void> = [];
  private readonly shared: SnapshotCache;
  /** Top processes per snapshot (warnings arriving together share one snapshot). */
  private readonly tops = new WeakMap<Snapshot, ProcessSummary[]>();
  private readonly actions: Readonly<Record<RemediationAction, Action>>;
  private readonly origin: Origin;
  private readonly record: RecordDeps;

  constructor(private readonly deps: PipelineDeps) {
    this.actions = deps.actions ?? ACTIONS;
    this.shared = new SnapshotCache(deps.snapshots, SHARED_SNAPSHOT_MAX_AGE_MS, deps.monotonic ?? (() => 0));
    const machine = deps.hostFacts === undefined ? undefined : describeHost(deps.hostFacts);
    this.origin = { host: deps.host, ...(machine ? { machine } : {}) };
    this.record = { state: deps.state, incidents: deps.incidents, audit: deps.audit, metrics: deps.metrics, now: deps.now, logger: deps.logger };
  }

  /** Triggers waiting. */
  get depth(): number {
    return this.queue.length;
  }

  /** Whether `n` more triggers fit in the queue (the receiver answers 503 otherwise). */
  hasRoom(n: number): boolean {
    return this.deps.maxQueue === undefined || this.queue.length + n <= this.deps.maxQueue;
  }

  /** Whether a trigger would be dropped as a repeat now (no side effect). */
  isRepeat(trigger: Trigger): boolean {
    return isRepeat(trigger, this.deps.state, this.deps.now().getTime(), this.deps.refusalRecheckMs, this.queuedKeys);
  }

  /**
   * Stage 1 and the queue: a repeat (handled already, or waiting) is audited and counted as a duplicate and
   * goes no further; anything else is queued.
   */
  submit(trigger: Trigger, o: SubmitOptions = {}): Submitted {
    if (this.isRepeat(trigger)) {
      this.deps.metrics.duplicate(trigger.source);
      this.deps.audit.append(stamped(this.deps.now(), duplicateEntry(trigger, this.deps.state, o.route)));
      return { queued: false, disposition: { kind: 'duplicate' } };
    }
    let resolve: (d: Disposition) => void = () => undefined;
    const done = new Promise<Disposition>((r) => {
      resolve = r;
    });
    const job: Job = { trigger, cache: o.sharedSnapshot ? this.shared : new SnapshotCache(this.deps.snapshots), resolve };
    this.queuedKeys.add(trigger.key);
    if (o.urgent) this.queue.unshift(job);
    else this.queue.push(job);
    this.deps.metrics.queueDepth(this.queue.length);
    this.pump();
    return { queued: true, done };
  }

  /** Submits and waits for the disposition (the guard, tests). */
  handle(trigger: Trigger, o: SubmitOptions = {}): Promise<Disposition> {
    const s = this.submit(trigger, o);
    return s.queued ? s.done : Promise.resolve(s.disposition);
  }

  /** Resolves when the queue is empty and nothing runs (tests, shutdown). */
  idle(): Promise<void> {
    if (!this.running && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private pump(): void {
    if (this.running || this.queue.length === 0) return;
    this.running = true;
    this.drain().then(
      () => this.finished(),
      (error: unknown) => {
        this.deps.logger.error('remediation worker failed', { error: errorMessage(error) });
        this.finished();
      },
    );
  }

  private finished(): void {
    this.running = false;
    if (this.queue.length > 0) {
      this.pump();
      return;
    }
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private async drain(): Promise<void> {
    for (let job = this.queue.shift(); job !== undefined; job = this.queue.shift()) {
      const { trigger } = job;
      let disposition: Disposition;
      try {
        disposition = await this.process(trigger, job.cache);
      } catch (error) {
        // An I/O failure outside the action (state, audit, snapshot): audited as an internal error, no action.
        this.deps.logger.error('remediation failed', { alert: trigger.alertName, key: trigger.key, error: errorMessage(error) });
        const reason = `internal error, no action: ${errorMessage(error)}`;
        this.deps.audit.append(stamped(this.deps.now(), { event: 'refusal', source: trigger.source, reasonCode: 'error', reason, alertName: trigger.alertName, key: trigger.key }));
        disposition = { kind: 'failed', reason };
      } finally {
        this.queuedKeys.delete(trigger.key);
        this.deps.metrics.queueDepth(this.queue.length);
      }
      job.resolve(disposition);
      if (this.deps.yieldToLoop && this.queue.length > 0) await this.deps.yieldToLoop();
    }
  }

  private process(trigger: Trigger, cache: SnapshotCache): Promise<Disposition> | Disposition {
    switch (trigger.kind) {
      case 'critical':
        return this.critical(trigger, cache);
      case 'warning':
        return this.warning(trigger, cache);
      case 'resolved':
        return this.resolved(trigger);
    }
  }

  private refuse(
    trigger: CriticalTrigger,
    code: RefusalCode,
    reason: string,
    o: { readonly snap?: Snapshot; readonly candidates?: readonly number[]; readonly plan?: Plan; readonly counted?: boolean } = {},
  ): Disposition {
    const at = this.deps.now();
    recordRefusal(trigger, { reasonCode: code, reason, memory: o.snap?.memory, ...(o.plan ? { plan: { action: o.plan.action, target: o.plan.target } } : {}) }, at, this.record, o.counted === true);
    const candidates = o.snap && o.candidates ? summarizeAll(o.candidates, o.snap) : undefined;
    this.publish(refusalNotification(this.origin, trigger, at, code, reason, o.snap?.memory, candidates));
    return { kind: 'refusal', reasonCode: code, reason };
  }

  private async critical(trigger: CriticalTrigger, cache: SnapshotCache): Promise<Disposition> {
    const { deps } = this;
    if (trigger.refuse) return this.refuse(trigger, trigger.refuse.code, trigger.refuse.reason);
    const q: Question | undefined = questionFor(trigger);
    if (q === undefined || !trigger.target.ok) return this.refuse(trigger, 'bad_label', trigger.target.ok ? 'no target' : trigger.target.reason);
    // 2. snapshot and decide
    const first = await snapshotAndDecide(q, cache, deps.settings);
    if (first.decision.kind === 'refusal') return this.refuse(trigger, first.decision.reasonCode, first.decision.reason, { snap: first.snap, candidates: first.decision.candidates });
    // 3. limits
    const limited = limitRefusal(trigger, first.decision, {
      actionsEnabled: deps.actionsEnabled,
      dryRun: deps.dryRun,
      actionTimes: deps.state.actionTimes(),
      nowMs: deps.now().getTime(),
      limits: deps.settings.limits,
    });
    if (limited) return this.refuse(trigger, limited.code, limited.reason, { snap: first.snap, ...(limited.withPlan ? { plan: first.decision } : {}) });
    // 4. re-check
    const before = await recheck(q, cache, deps.settings);
    if (before.decision.kind === 'refusal') {
      return this.refuse(trigger, before.decision.reasonCode, `re-checked before acting: ${before.decision.reason}`, { snap: before.snap, candidates: before.decision.candidates });
    }
    // 5. act
    const record = await act(
      trigger,
      before.decision,
      before.snap,
      q,
      cache,
      { host: deps.host, hostFacts: deps.hostFacts, dryRun: deps.dryRun, actions: this.actions, actionEnv: deps.actionEnv, state: deps.state, now: deps.now, recoveredBelow: deps.settings.recovered.hostUsedBelow, ...(deps.evidence ? { evidence: deps.evidence } : {}) },
      firstWarning(deps.state, trigger.startsAt),
    );
    // 6. record
    const saved = recordAction(record, this.record);
    // 7. notify
    if (record.ending.kind === 'threw') {
      return this.refuse(trigger, 'action_failed', `${record.plan.action} failed: ${record.ending.message}`, { snap: before.snap, counted: !deps.dryRun });
    }
    const notification = actionNotification(record, saved);
    if (notification) this.publish(notification);
    return { kind: 'action', action: record.plan.action, result: record.ending.report.result, dryRun: record.dryRun, incidentId: saved?.id };
  }

  private async warning(trigger: WarningTrigger, cache: SnapshotCache): Promise<Disposition> {
    const snap = await cache.get({});
    const at = this.deps.now();
    recordNotified(trigger, at, this.record, snap.memory);
    this.publish(warningNotification(this.origin, trigger, at, snap.memory, this.top(snap), notableElsewhere(snap)));
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

  private resolved(trigger: ResolvedTrigger): Disposition {
    const at = this.deps.now();
    recordNotified(trigger, at, this.record);
    this.publish(resolvedNotification(this.origin, trigger, at));
    return { kind: 'notified', notification: 'resolved' };
  }

  private publish(n: Notification): void {
    this.deps.sink.publish(n);
  }
}
