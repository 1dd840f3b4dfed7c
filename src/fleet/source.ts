import { createHash } from 'node:crypto';
import { Counter, Gauge, type Registry } from 'prom-client';
import { errorMessage, type Logger } from '../logging/logger.js';
import type { NotificationSink } from '../notify/events.js';
import type { WebhookAlert, WebhookPayload } from '../receiver/payload.js';
import { triggersFromPayload, type Route } from '../receiver/triggers.js';
import type { Disposition, Trigger } from '../remediation/trigger.js';
import { alertsPath, parseAlerts, type GettableAlert } from './alertmanager-api.js';
import { mergeAnswers, type MemberAnswer, type MergedAlert } from './merge.js';

/** What the alert source needs of the remediation pipeline (RemediationPipeline satisfies it). */
export interface PipelineLike {
  isRepeat(trigger: Trigger): boolean;
  handle(trigger: Trigger): Promise<Disposition>;
}

/** GET a URL, resolve with status and body; reject on network errors and timeouts. */
export type FetchText = (url: string) => Promise<{ readonly status: number; readonly body: string }>;

export interface AlertSourceDeps {
  /** This host's instance label. */
  readonly instance: string;
  /** This host's name in notifications. */
  readonly host: string;
  /** Alertmanager base URLs (every cluster member). */
  readonly members: readonly string[];
  readonly remediateReceivers: readonly string[];
  readonly pipeline: PipelineLike;
  readonly sink: NotificationSink;
  readonly fetchText: FetchText;
  readonly now: () => Date;
  readonly logger: Logger;
  readonly registry: Registry;
}

export interface PollResult {
  readonly answered: number;
  readonly handed: ReadonlyArray<{ readonly key: string; readonly kind: Trigger['kind']; readonly outcome: Disposition }>;
  readonly suppressed: readonly string[];
  readonly foreign: number;
}

function notificationId(host: string, key: string): string {
  return createHash('sha256').update(`${host}\u0000suppressed\u0000${key}`).digest('hex').slice(0, 24);
}

/**
 * Pulls this host's alerts from every Alertmanager and feeds them to the remediation pipeline through the
 * receiver's own conversion (triggersFromPayload), so a pulled alert and a pushed one are the same trigger
 * with the same idempotency key (fingerprint|startsAt): the cluster's copies, repeated polls and restarts
 * cause one action. Silenced or inhibited critical alerts are not acted on; people are told once. An alert
 * that was handed and is gone from every member that answered is resolved.
 */
export class AlertSource {
  /** Alerts handed to the pipeline as firing, by key (for "resolved" when they disappear). */
  private readonly seen = new Map<string, { readonly alert: GettableAlert; readonly route: Route }>();
  private readonly inFlight = new Set<string>();
  private readonly suppressedTold = new Set<string>();
  private readonly up: Gauge;
  private readonly polls: Counter;
  private readonly alertsGauge: Gauge;
  private readonly foreign: Counter;

  constructor(private readonly deps: AlertSourceDeps) {
    const registers = [deps.registry];
    this.up = new Gauge({ name: 'headroom_fleet_alertmanager_up', help: 'Whether the last pull from this Alertmanager succeeded (1) or not (0).', labelNames: ['alertmanager'], registers });
    this.polls = new Counter({ name: 'headroom_fleet_polls_total', help: 'Pulls of this host\'s alerts, by result (ok: at least one Alertmanager answered).', labelNames: ['result'], registers });
    this.alertsGauge = new Gauge({ name: 'headroom_fleet_alerts', help: 'Alerts about this host in the Alertmanager cluster at the last pull, by state.', labelNames: ['state'], registers });
    this.foreign = new Counter({ name: 'headroom_fleet_foreign_alerts_dropped_total', help: 'Alerts returned for another instance and dropped (never acted on).', registers });
  }

  private async ask(member: string): Promise<MemberAnswer> {
    try {
      const res = await this.deps.fetchText(`${member.replace(/\/+$/, '')}${alertsPath(this.deps.instance)}`);
      if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${res.body.slice(0, 200)}`);
      const parsed = parseAlerts(res.body);
      if (!parsed.ok) throw new Error(`bad answer: ${parsed.reason}`);
      this.up.set({ alertmanager: member }, 1);
      return { member, alerts: parsed.alerts };
    } catch (error) {
      this.up.set({ alertmanager: member }, 0);
      this.deps.logger.warn('fleet: Alertmanager not reachable', { alertmanager: member, error: errorMessage(error) });
      return { member, error: errorMessage(error) };
    }
  }

  private route(m: MergedAlert): Route {
    return m.receivers.some((r) => this.deps.remediateReceivers.includes(r)) ? 'remediate' : 'notify';
  }

  private payload(alert: GettableAlert, status: 'firing' | 'resolved', route: Route, endsAt?: Date): WebhookPayload {
    const a: WebhookAlert = {
      status,
      labels: alert.labels,
      annotations: alert.annotations,
      startsAt: alert.startsAt,
      endsAt: endsAt ? endsAt.toISOString() : alert.endsAt,
      generatorURL: alert.generatorURL,
      fingerprint: alert.fingerprint,
    };
    return { version: '4', groupKey: `fleet:${this.deps.instance}`, truncatedAlerts: 0, status, receiver: `pull:${route}`, groupLabels: {}, commonLabels: {}, alerts: [a] };
  }

  private hand(trigger: Trigger, into: Array<Promise<PollResult['handed'][number]>>): void {
    if (this.inFlight.has(trigger.key) || this.deps.pipeline.isRepeat(trigger)) return;
    this.inFlight.add(trigger.key);
    into.push(
      this.deps.pipeline.handle(trigger).then(
        (outcome) => {
          this.inFlight.delete(trigger.key);
          return { key: trigger.key, kind: trigger.kind, outcome };
        },
        (error: unknown) => {
          this.inFlight.delete(trigger.key);
          throw error;
        },
      ),
    );
  }

  private tellSuppressed(m: MergedAlert): void {
    if (this.suppressedTold.has(m.key)) return;
    this.suppressedTold.add(m.key);
    const name = m.alert.labels.alertname ?? 'unnamed';
    const what = m.silencedBy.length > 0 ? `silenced in Alertmanager (silence ${m.silencedBy.join(', ')})` : `inhibited in Alertmanager by ${m.inhibitedBy.join(', ') || 'another alert'}`;
    const summary = m.alert.annotations.summary ?? name;
    this.deps.logger.info('fleet: critical alert suppressed, not acting', { alert: name, key: m.key, silencedBy: m.silencedBy, inhibitedBy: m.inhibitedBy });
    this.deps.sink.publish({
      kind: 'refusal',
      id: notificationId(this.deps.host, m.key),
      host: this.deps.host,
      at: this.deps.now().toISOString(),
      alertName: name,
      source: 'receiver',
      reasonCode: m.silencedBy.length > 0 ? 'silenced' : 'inhibited',
      reason: `${what}: not acting on "${summary}"`,
    });
  }

  /** One round: ask every member, merge, hand new alerts to the pipeline, resolve the ones gone. */
  async poll(): Promise<PollResult> {
    const answers = await Promise.all(this.deps.members.map((m) => this.ask(m)));
    const merged = mergeAnswers(answers, this.deps.instance);
    if (merged.foreign > 0) this.foreign.inc(merged.foreign);
    if (merged.answered === 0) {
      this.polls.inc({ result: 'failed' });
      return { answered: 0, handed: [], suppressed: [], foreign: merged.foreign };
    }
    this.polls.inc({ result: 'ok' });
    const counts = { active: 0, suppressed: 0, unprocessed: 0 };
    const work: Array<Promise<PollResult['handed'][number]>> = [];
    const suppressed: string[] = [];
    const present = new Set<string>();
    for (const m of merged.alerts) {
      counts[m.state] += 1;
      present.add(m.key);
      if (m.state === 'unprocessed') continue; // not yet checked against silences: wait for the next round
      const route = this.route(m);
      if (m.state === 'suppressed') {
        suppressed.push(m.key);
        if (route === 'remediate' && m.alert.labels.severity === 'critical') this.tellSuppressed(m);
        continue;
      }
      for (const t of triggersFromPayload(this.payload(m.alert, 'firing', route), route)) this.hand(t, work);
      this.seen.set(m.key, { alert: m.alert, route });
    }
    for (const [key, s] of this.seen) {
      if (present.has(key)) continue;
      this.seen.delete(key);
      this.suppressedTold.delete(key);
      for (const t of triggersFromPayload(this.payload(s.alert, 'resolved', s.route, this.deps.now()), s.route)) this.hand(t, work);
    }
    for (const key of this.suppressedTold) if (!present.has(key)) this.suppressedTold.delete(key);
    for (const [state, n] of Object.entries(counts)) this.alertsGauge.set({ state }, n);
    const handed = await Promise.all(work);
    return { answered: merged.answered, handed, suppressed, foreign: merged.foreign };
  }
}
