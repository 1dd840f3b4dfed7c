import type { Action, ActionEnv } from '../actions/action.js';
import { ACTIONS } from '../actions/index.js';
import { stamped, type AuditSink } from '../audit/audit-log.js';
import { describeHost, type HostFacts } from '../domain/host.js';
import type { RemediationAction } from '../domain/remediation.js';
import type { ProcessSummary } from '../domain/summaries.js';
import type { IncidentStore } from '../incidents/store.js';
import { errorMessage, type Logger } from '../logging/logger.js';
import type { Notification, NotificationSink, TreeGrowth } from '../notify/events.js';
import type { Plan, PolicySettings, RefusalCode, Snapshot } from '../policy/types.js';
import { actionNotification, type ActionRecord } from './action-record.js';
import { incidentId } from '../incidents/store.js';
import {
  closeHeld,
  closeIncident,
  conditionScope,
  continuesHeld,
  heldUntil,
  holdExpired,
  holdIncident,
  IncidentBook,
  incidentLimit,
  lateAlertOf,
  openIncident,
  resumeIncident,
  withVictim,
  type Incident,
  type IncidentEnd,
  type IncidentJobs,
} from './incident.js';
import { endEpisode, episodeSummary, forgettable, observeRefusal, type Episode, type EpisodeState } from './refusal-episodes.js';
import { incidentAuditEntry, incidentJobs, incidentNotification, incidentReport, victimOf } from './stages/incident.js';
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
import type { GrowthSource } from './growth-source.js';
import { notableElsewhere, summarizeAll, topProcesses } from './summaries.js';
import type { CriticalTrigger, Disposition, IncidentProgress, ResolvedTrigger, Trigger, WarningTrigger } from './trigger.js';

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
  /** The agent's short history (issue #11): Growth sections in reports, growth in warnings; absent: neither. */
  readonly growth?: GrowthSource;
  /** Available share (0–1) of the guarded memory: the host (scope undefined) or a watched cgroup (escalation under thrash). */
  readonly availableRatio?: (scope: string | undefined) => number | undefined;
  /** Identical refusals within this long are one episode (remediation.refusal_episode_max; default 10 min). */
  readonly refusalEpisodeMaxMs?: number;
}

const TOP_PROCESSES = 5;
/** First decisions and warnings of the receiver's batch reuse a snapshot this young (re-read before acting). */
const SHARED_SNAPSHOT_MAX_AGE_MS = 1000;

/** Refusal episodes kept before the first pruning pass (see RemediationPipeline.pruneEpisodes). */
const EPISODES_PRUNE_FLOOR = 1024;
const NO_EPISODES: EpisodeState = new Map();

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
  /** The open (and last closed) incident per guarded scope (./incident.ts). */
  private readonly book = new IncidentBook();
  /**
   * Episodes of identical refusals per stream (./refusal-episodes.ts), updated in place: a process alert is its
   * own stream (its key), so a flood of refused alerts makes many streams, and copying them all per refusal
   * cost time quadratic in the flood. Forgettable episodes are pruned when the map has doubled.
   */
  private readonly episodes = new Map<string, Episode>();
  private episodesPruneAt = EPISODES_PRUNE_FLOOR;

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
    // A held incident whose close_after is over closes first (never under a trigger that may be continuing it).
    if (!this.running) this.closeExpiredNow();
    const late = trigger.kind === 'critical' ? this.lateCopyOf(trigger) : undefined;
    if (late !== undefined) {
      this.deps.metrics.duplicate(trigger.source);
      const until = heldUntil(late, this.closeAfterMs);
      const state = late.closed
        ? `handled this condition (ended ${late.closed.at.toISOString()}, ${late.closed.because})`
        : until !== undefined
          ? `is held open after recovery until ${until.toISOString()} (remediation.incident.close_after)`
          : 'is in progress';
      const reason = `the guard's incident ${late.id} on ${late.scope} ${state}`;
      this.deps.audit.append(stamped(this.deps.now(), { ...duplicateEntry(trigger, this.deps.state, o.route), reason }));
      return { queued: false, disposition: { kind: 'duplicate', reason } };
    }
    // A step of an open incident may carry a key seen before (the guard's crossing, the alert repeated); a guard
    // crossing that continues a held incident is a new crossing with a new key, so its repeats stay duplicates.
    const cont = trigger.kind === 'critical' ? this.continuing(trigger) : undefined;
    const continues = cont !== undefined && !this.queuedKeys.has(trigger.key) && !(cont.recovered !== undefined && trigger.source === 'guard');
    if (!continues && this.isRepeat(trigger)) {
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

  /** A receiver's alert for a condition the guard's incident is handling (or handled): a duplicate, not a second incident. */
  private lateCopyOf(t: CriticalTrigger): Incident | undefined {
    const scope = conditionScope(t);
    const known = scope === undefined ? undefined : this.book.get(scope);
    return known !== undefined && lateAlertOf(t, known) ? known : undefined;
  }

  /**
   * The incident this trigger continues: the scope's open incident (any host-level critical trigger for it);
   * or, while one is held after recovery (close_after), the scope past the line again (continuesHeld).
   */
  private continuing(t: CriticalTrigger): Incident | undefined {
    if (!t.target.ok || t.target.target.kind !== 'host') return undefined;
    const scope = conditionScope(t);
    const open = scope === undefined ? undefined : this.book.open(scope);
    if (open === undefined) return undefined;
    if (open.recovered !== undefined) return continuesHeld(open, t, this.deps.now(), this.closeAfterMs) ? open : undefined;
    // Still open (memory has not been back under the recovered line): the scope's condition goes on, so any
    // host-level critical trigger for it is its next step — the guard's same or next crossing (memory back over
    // the guard line without reaching the recovered line), the same alert repeated, another host alert (swap
    // critical after memory critical), or the guard while a receiver's incident is open. One condition, one
    // incident: bounded by its own limits, not refused by the Alertmanager path's cooldown.
    return open;
  }

  private get closeAfterMs(): number {
    return this.deps.settings.incident.closeAfterMs;
  }

  /**
   * Closes the incidents held after recovery whose close_after is over (their report, audit line and summary).
   * The agent calls it every second; the queue calls it before each trigger. Does nothing while a trigger is
   * being handled (that trigger may be continuing a held incident; the queue checks again before the next;
   * callers that need it at once await idle() first).
   */
  closeExpired(): void {
    if (this.running) return;
    try {
      this.closeExpiredNow();
    } catch (error) {
      // Called from the agent's timer: an I/O failure (audit log) is logged here, not thrown into the timer.
      this.deps.logger.error('closing a held incident failed', { error: errorMessage(error) });
    }
  }

  /** Closes every held incident now (the agent stops): memory had recovered; the report says when it ended. */
  closeHeld(): void {
    const now = this.deps.now();
    for (const inc of this.book.held()) {
      const closed = closeHeld(inc, now, this.closeAfterMs);
      const ended = closed.closed ? { ...closed.closed, reason: `${closed.closed.reason}; closed before close_after was over: the agent stopped` } : undefined;
      this.complete(ended ? { ...closed, closed: ended } : closed, inc.recovered?.jobs ?? []);
    }
  }

  private closeExpiredNow(): void {
    const now = this.deps.now();
    for (const inc of this.book.held()) if (holdExpired(inc, now, this.closeAfterMs)) this.complete(closeHeld(inc, now, this.closeAfterMs), inc.recovered?.jobs ?? []);
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
        this.closeExpiredNow();
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
    const stream = this.stream(trigger);
    const maxSpanMs = this.deps.refusalEpisodeMaxMs ?? 600_000;
    const seen = observeRefusal(this.episodeOf(stream), { stream, reasonCode: code, reason }, at.getTime(), maxSpanMs);
    const episode = seen.state.get(stream);
    if (episode !== undefined) this.episodes.set(stream, episode);
    this.pruneEpisodes(at.getTime(), maxSpanMs);
    if (seen.ended) this.closeEpisode(trigger, seen.ended);
    recordRefusal(trigger, { reasonCode: code, reason, memory: o.snap?.memory, ...(o.plan ? { plan: { action: o.plan.action, target: o.plan.target } } : {}) }, at, this.record, o.counted === true, seen.write);
    if (seen.write) {
      this.deps.logger.warn('remediation refused', { source: trigger.source, alert: trigger.alertName, reasonCode: code, reason });
      const candidates = o.snap && o.candidates ? summarizeAll(o.candidates, o.snap) : undefined;
      this.publish(refusalNotification(this.origin, trigger, at, code, reason, o.snap?.memory, candidates));
    }
    return { kind: 'refusal', reasonCode: code, reason };
  }

  /** Refusals of one source about one scope form one stream of episodes. */
  private stream(t: CriticalTrigger): string {
    return `${t.source}|${conditionScope(t) ?? t.key}`;
  }

  /** The closing line of an episode of identical refusals (audit and journal): how many, over what span. */
  private closeEpisode(t: CriticalTrigger, e: Episode): void {
    const reason = episodeSummary(e);
    this.deps.audit.append(
      stamped(this.deps.now(), {
        event: 'refusal',
        source: t.source,
        reasonCode: e.reasonCode as RefusalCode,
        reason,
        alertName: t.alertName,
        key: t.key,
        repeated: { count: e.count, first: new Date(e.firstMs).toISOString(), last: new Date(e.lastMs).toISOString() },
      }),
    );
    this.deps.logger.warn('remediation refusals ended', { source: t.source, reasonCode: e.reasonCode, count: e.count, spanSeconds: (e.lastMs - e.firstMs) / 1000 });
  }

  /** Something other than a refusal happened on the trigger's stream: its refusal episode ends. */
  private endRefusals(t: CriticalTrigger): void {
    const stream = this.stream(t);
    const r = endEpisode(this.episodeOf(stream), stream);
    this.episodes.delete(stream);
    if (r.ended) this.closeEpisode(t, r.ended);
  }

  /** The one stream's episode as the pure functions' state (they never see the other streams). */
  private episodeOf(stream: string): EpisodeState {
    const cur = this.episodes.get(stream);
    return cur === undefined ? NO_EPISODES : new Map([[stream, cur]]);
  }

  /** Drops episodes whose forgetting changes nothing (forgettable()), once the map has doubled since the last pass. */
  private pruneEpisodes(nowMs: number, maxSpanMs: number): void {
    if (this.episodes.size <= this.episodesPruneAt) return;
    for (const [stream, e] of this.episodes) if (forgettable(e, nowMs, maxSpanMs)) this.episodes.delete(stream);
    this.episodesPruneAt = Math.max(EPISODES_PRUNE_FLOOR, 2 * this.episodes.size);
  }

  /** Ends an incident: its one report, audit line and summary notification. */
  private finish(inc: Incident, because: IncidentEnd, reason: string, snap: Snapshot | undefined): IncidentProgress {
    const closed = closeIncident(inc, this.deps.now(), because, reason, snap?.memory);
    return this.complete(closed, snap ? incidentJobs(closed, snap) : (inc.recovered?.jobs ?? []));
  }

  /**
   * Memory is back under the recovered line: the incident is held open for close_after (a re-crossing continues
   * it); it closes, with its report and summary, when that is over.
   */
  private hold(inc: Incident, reason: string, snap: Snapshot | undefined): IncidentProgress {
    const at = this.deps.now();
    const jobs: IncidentJobs = snap ? incidentJobs(inc, snap) : (inc.recovered?.jobs ?? []);
    const held = holdIncident(inc, at, reason, snap?.memory ?? inc.lastMemory ?? inc.memoryBefore, jobs);
    this.book.set(held);
    const until = heldUntil(held, this.closeAfterMs);
    this.deps.logger.info('incident recovered; held open for re-crossings', { incident: held.id, victims: held.victims.length, until: until?.toISOString(), reason });
    return { id: held.id, open: false, held: true, victims: held.victims.length, ...(until ? { heldUntil: until.toISOString() } : {}) };
  }

  /** Writes a closed incident's one report, audit line and summary notification. */
  private complete(closed: Incident, jobs: IncidentJobs): IncidentProgress {
    const because = closed.closed?.because ?? 'refused';
    const reason = closed.closed?.reason ?? '';
    this.book.set(closed);
    let path: string | undefined;
    let chart: string | undefined;
    if (closed.first !== undefined) {
      try {
        const s = this.deps.incidents.save(incidentReport(closed, closed.first, jobs, this.origin.machine), closed.first.growthChart);
        path = s.path;
        chart = s.record.growth?.chart;
      } catch (error) {
        this.deps.logger.error('incident report not written', { error: errorMessage(error) });
      }
    }
    this.deps.audit.append(stamped(this.deps.now(), incidentAuditEntry(closed)));
    this.deps.logger.warn('incident ended', { incident: closed.id, because, victims: closed.victims.length, reclaimedBytes: closed.reclaimedBytes, reason });
    if (closed.victims.length > 0) this.publish({ ...incidentNotification(this.origin, closed, jobs, path), ...(chart !== undefined ? { chart } : {}) });
    return { id: closed.id, open: false, victims: closed.victims.length, closedBecause: because };
  }

  /** A refusal that ends an open incident (recovered, no candidate left, a limit). */
  private refuseInIncident(inc: Incident | undefined, trigger: CriticalTrigger, code: RefusalCode, reason: string, snap: Snapshot | undefined, d: () => Disposition): Disposition {
    if (inc === undefined) return d();
    if (code === 'recovered') return { kind: 'refusal', reasonCode: code, reason, incident: this.hold(inc, reason, snap) };
    const because: IncidentEnd = code === 'incident_max_victims' ? 'max_victims' : code === 'incident_max_reclaim' ? 'max_reclaim' : code === 'no_candidate' ? 'no_candidate' : 'refused';
    const out = d();
    return { ...out, ...(out.kind === 'refusal' ? { incident: this.finish(inc, because, reason, snap) } : {}) };
  }

  private async critical(trigger: CriticalTrigger, cache: SnapshotCache): Promise<Disposition> {
    const { deps } = this;
    if (trigger.refuse) return this.refuse(trigger, trigger.refuse.code, trigger.refuse.reason);
    const q: Question | undefined = questionFor(trigger);
    if (q === undefined || !trigger.target.ok) return this.refuse(trigger, 'bad_label', trigger.target.ok ? 'no target' : trigger.target.reason);
    // A host-level trigger (the guard's crossing, a host alert) is a step of an incident (./incident.ts).
    const scope = trigger.target.target.kind === 'host' ? conditionScope(trigger) : undefined;
    let inc = this.continuing(trigger);
    // An incident of this scope this trigger does not continue (another source's, or its hold is over) ends
    // first, with its report: the book keeps one incident per scope, and none may vanish unreported.
    const stale = scope === undefined || inc !== undefined ? undefined : this.book.open(scope);
    if (stale?.recovered !== undefined) this.complete(closeHeld(stale, deps.now(), this.closeAfterMs), stale.recovered.jobs);
    else if (stale !== undefined) this.finish(stale, 'refused', `${trigger.alertName} (${trigger.source}) started a new incident while this one was open`, undefined);
    const step: CriticalTrigger = inc === undefined ? trigger : { ...trigger, key: `${inc.key}#${inc.victims.length + 1}` };
    // 2. snapshot and decide
    const first = await snapshotAndDecide(q, cache, deps.settings);
    if (inc?.recovered !== undefined) {
      const held = inc;
      // Held after recovery and still under the recovered line: nothing to continue (the hold is unchanged).
      if (first.decision.kind === 'refusal' && first.decision.reasonCode === 'recovered') {
        const reason = first.decision.reason;
        this.refuse(step, 'recovered', reason, { snap: first.snap });
        const until = heldUntil(held, this.closeAfterMs);
        return { kind: 'refusal', reasonCode: 'recovered', reason, incident: { id: held.id, open: false, held: true, victims: held.victims.length, ...(until ? { heldUntil: until.toISOString() } : {}) } };
      }
      // Past the line again within close_after: the same incident goes on.
      inc = resumeIncident(held);
      this.book.set(inc);
      deps.logger.warn('incident continues: past the line again within close_after', { incident: inc.id, victims: inc.victims.length, recrossings: inc.recrossings, heldSince: held.recovered?.at.toISOString() });
    }
    if (first.decision.kind === 'refusal') {
      const d = first.decision;
      return this.refuseInIncident(inc, step, d.reasonCode, d.reason, first.snap, () => this.refuse(step, d.reasonCode, d.reason, { snap: first.snap, candidates: d.candidates }));
    }
    // 3. limits: within an incident its own bounds; the guard is never held back by the Alertmanager path's
    // rate limit and cooldown (the last line of defence must not leave the host past its line).
    if (inc !== undefined) {
      const over = incidentLimit(inc, { heldBytes: first.decision.targetBytes }, first.snap.memory.totalBytes, deps.settings.incident);
      if (over) {
        const plan = first.decision;
        return this.refuseInIncident(inc, step, over.code, over.reason, first.snap, () => this.refuse(step, over.code, `${over.reason}; would have run ${plan.action}: ${plan.reason}`, { snap: first.snap }));
      }
    } else if (!(scope !== undefined && trigger.source === 'guard')) {
      const limited = limitRefusal(trigger, first.decision, {
        actionsEnabled: deps.actionsEnabled,
        dryRun: deps.dryRun,
        actionTimes: deps.state.actionTimes(),
        nowMs: deps.now().getTime(),
        limits: deps.settings.limits,
      });
      if (limited) return this.refuse(trigger, limited.code, limited.reason, { snap: first.snap, ...(limited.withPlan ? { plan: first.decision } : {}) });
    }
    // 4. re-check
    const before = await recheck(q, cache, deps.settings);
    if (before.decision.kind === 'refusal') {
      const d = before.decision;
      return this.refuseInIncident(inc, step, d.reasonCode, `re-checked before acting: ${d.reason}`, before.snap, () =>
        this.refuse(step, d.reasonCode, `re-checked before acting: ${d.reason}`, { snap: before.snap, candidates: d.candidates }),
      );
    }
    this.endRefusals(trigger);
    // 5. act (SIGKILL early while the guarded memory stays below the kill line: escalation under thrash)
    const availableRatio = deps.availableRatio;
    const actionEnv = availableRatio
      ? { ...deps.actionEnv, escalation: { escalateAfterMs: deps.settings.incident.escalateAfterMs, killBelow: deps.settings.incident.killBelow, availableRatio: () => availableRatio(trigger.scope) } }
      : deps.actionEnv;
    const record = await act(
      step,
      before.decision,
      before.snap,
      q,
      cache,
      { host: deps.host, hostFacts: deps.hostFacts, dryRun: deps.dryRun, actions: this.actions, actionEnv, state: deps.state, now: deps.now, recoveredBelow: deps.settings.recovered.hostUsedBelow, ...(deps.evidence ? { evidence: deps.evidence } : {}), ...(deps.growth ? { growth: deps.growth } : {}) },
      firstWarning(deps.state, trigger.startsAt),
    );
    if (scope !== undefined && before.decision.target.kind === 'process') return this.incidentStep(inc, scope, step, record, before.snap, cache, q);
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

  /**
   * Stages 6 and 7 for a step of an incident: the action's audit line names the incident; the first victim's
   * step notifies as an action; the incident ends when memory is back under the recovered line (or the step
   * failed), with its one report and summary. Otherwise it stays open: the guard (or the alert's next repeat)
   * takes the next step after the victim's memory was seen freed.
   */
  private async incidentStep(inc: Incident | undefined, scope: string, step: CriticalTrigger, record: ActionRecord, before: Snapshot, cache: SnapshotCache, q: Question): Promise<Disposition> {
    const { deps } = this;
    const subject = record.target.process ? `pid${record.target.process.pid}` : scope;
    let cur = inc ?? { ...openIncident(incidentId(record.startedAt, subject), step, scope, record.startedAt, before.memory), first: record };
    const saved = recordAction(record, this.record, { incidentId: cur.id });
    const victim = victimOf(record, before);
    const after = record.ending.kind === 'ran' ? record.ending.memoryAfter : before.memory;
    if (victim) cur = withVictim(cur, victim, after);
    this.book.set(cur);
    if (cur.victims.length === 1 && record.ending.kind === 'ran') {
      // The incident's report (and its chart, <id>.svg) is written when it ends, under this id.
      const n = actionNotification(record, saved ?? { id: cur.id, path: '', ...(record.growthChart !== undefined ? { chart: `${cur.id}.svg` } : {}) });
      if (n) this.publish({ ...n, incidentId: cur.id, incidentReportPath: undefined });
    }
    const shown = victim ? { pid: victim.pid, heldBytes: victim.heldBytes, ...(victim.freedBytes !== undefined ? { freedBytes: victim.freedBytes } : {}), ...(victim.exitSeconds !== undefined ? { exitSeconds: victim.exitSeconds } : {}), ...(victim.escalated ? { escalated: true } : {}) } : undefined;
    if (record.ending.kind === 'threw') {
      const reason = `${record.plan.action} failed: ${record.ending.message}`;
      this.refuse(step, 'action_failed', reason, { snap: before, counted: !deps.dryRun });
      return { kind: 'refusal', reasonCode: 'action_failed', reason, incident: this.finish(cur, 'action_failed', reason, before) };
    }
    const result = { kind: 'action' as const, action: record.plan.action, result: record.ending.report.result, dryRun: record.dryRun, incidentId: cur.id };
    if (deps.dryRun) return { ...result, incident: { ...this.finish(cur, 'refused', 'dry run: one step only (nothing was stopped, memory cannot recover)', before), ...(shown ? { victim: shown } : {}) } };
    if (after.usedRatio < deps.settings.recovered.hostUsedBelow) {
      const snap = await cache.get(q.snapshot);
      const reason = `memory (${after.scope ?? 'host'}) is at ${(after.usedRatio * 100).toFixed(1)} % used, below the recovered line of ${(deps.settings.recovered.hostUsedBelow * 100).toFixed(1)} %`;
      return { ...result, incident: { ...this.hold(cur, reason, snap), ...(shown ? { victim: shown } : {}) } };
    }
    return { ...result, incident: { id: cur.id, open: true, victims: cur.victims.length, ...(shown ? { victim: shown } : {}) } };
  }

  private async warning(trigger: WarningTrigger, cache: SnapshotCache): Promise<Disposition> {
    const snap = await cache.get({});
    const at = this.deps.now();
    recordNotified(trigger, at, this.record, snap.memory);
    const growth = this.growthNow(at);
    this.publish({ ...warningNotification(this.origin, trigger, at, snap.memory, this.top(snap), notableElsewhere(snap)), ...(growth ? { growth } : {}) });
    return { kind: 'notified', notification: 'warning' };
  }

  /** Which tree grows and how fast, from the history; a failure is logged and the warning goes out without it. */
  private growthNow(at: Date): TreeGrowth | undefined {
    try {
      return this.deps.growth?.warning(at.getTime());
    } catch (error) {
      this.deps.logger.warn('warning: growth from the history failed', { error: errorMessage(error) });
      return undefined;
    }
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
    // The alert that kept an incident open stopped firing: the incident ends with it (as recovered when memory
    // had come back and it was held).
    for (const open of this.book.openByFingerprint(trigger.fingerprint)) {
      if (open.recovered !== undefined) this.complete(closeHeld(open, at, this.closeAfterMs), open.recovered.jobs);
      else this.finish(open, 'resolved', `${trigger.alertName} resolved`, undefined);
    }
    recordNotified(trigger, at, this.record);
    this.publish(resolvedNotification(this.origin, trigger, at));
    return { kind: 'notified', notification: 'resolved' };
  }

  private publish(n: Notification): void {
    this.deps.sink.publish(n);
  }
}
