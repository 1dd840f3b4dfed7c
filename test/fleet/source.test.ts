import { readFileSync } from 'node:fs';
import { load } from 'js-yaml';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { alertsPath, parseAlerts } from '../../src/fleet/alertmanager-api.js';
import { AlertSource, type FetchText, type PipelineLike } from '../../src/fleet/source.js';
import { memoryLogger } from '../../src/logging/logger.js';
import type { Notification } from '../../src/notify/events.js';
import type { Disposition, Trigger } from '../../src/remediation/trigger.js';
import { repo } from '../alerting/support.js';

/**
 * The pull logic against scripted Alertmanager answers (the fleet test runs it against real ones): the HA
 * pair's copies collapse, silences and unprocessed alerts stop the action, foreign alerts are dropped, gone
 * alerts resolve, and nothing resolves when no member answered.
 */
const ME = '10.0.0.2:9632';
const T0 = '2026-12-01T08:00:00.000Z';

function amAlert(over: { instance?: string; fp?: string; state?: 'active' | 'suppressed' | 'unprocessed'; silencedBy?: string[]; receivers?: string[]; severity?: string; extra?: Record<string, unknown> } = {}): Record<string, unknown> {
  return {
    labels: { alertname: 'HeadroomProcessMemoryCritical', instance: over.instance ?? ME, job: 'headroom', severity: over.severity ?? 'critical', pid: '4242', start_time: '1700000000.00' },
    annotations: { summary: 'python3 (pid 4242) holds 81% of memory' },
    startsAt: T0,
    endsAt: '2026-12-01T08:05:00.000Z',
    updatedAt: T0,
    generatorURL: 'http://prometheus/graph',
    fingerprint: over.fp ?? '0123456789abcdef',
    receivers: (over.receivers ?? ['headroom-remediate']).map((name) => ({ name })),
    status: { state: over.state ?? 'active', silencedBy: over.silencedBy ?? [], inhibitedBy: [] },
    ...over.extra,
  };
}

class Recorder implements PipelineLike {
  readonly handed: Trigger[] = [];
  readonly done = new Set<string>();
  isRepeat(t: Trigger): boolean {
    return this.done.has(t.key);
  }
  handle(t: Trigger): Promise<Disposition> {
    this.handed.push(t);
    this.done.add(t.key);
    return Promise.resolve({ kind: 'notified', notification: 'warning' });
  }
}

function setup(): { source: AlertSource; pipeline: Recorder; sent: Notification[]; answers: Map<string, unknown[] | Error>; asked: string[] } {
  const answers = new Map<string, unknown[] | Error>();
  const asked: string[] = [];
  const fetchText: FetchText = (url) => {
    asked.push(url);
    const member = url.slice(0, url.indexOf('/api/'));
    const a = answers.get(member);
    if (a instanceof Error || a === undefined) return Promise.reject(a ?? new Error('down'));
    return Promise.resolve({ status: 200, body: JSON.stringify(a) });
  };
  const pipeline = new Recorder();
  const sent: Notification[] = [];
  const source = new AlertSource({ instance: ME, host: 'host-b', members: ['http://am1:9093', 'http://am2:9093'], remediateReceivers: ['headroom-remediate'], pipeline, sink: { publish: (n) => sent.push(n) }, fetchText, now: () => new Date('2026-12-01T08:01:00Z'), logger: memoryLogger(), registry: new Registry() });
  return { source, pipeline, sent, answers, asked };
}

describe('AlertSource (pulling this host\'s alerts from the Alertmanager cluster)', () => {
  it('asks each member for this instance only, tolerating unknown fields', async () => {
    const { source, answers, asked } = setup();
    answers.set('http://am1:9093', [amAlert({ extra: { somethingNew: { x: 1 } } })]);
    answers.set('http://am2:9093', []);
    const r = await source.poll();
    expect(r.answered).toBe(2);
    expect(asked).toHaveLength(2);
    expect(decodeURIComponent(asked[0] ?? '')).toContain(`filter=instance="${ME}"`);
    expect(alertsPath(ME)).toContain('silenced=true');
  });

  it('the HA pair\'s two copies of one alert are one critical trigger; later rounds hand nothing again', async () => {
    const { source, pipeline, answers } = setup();
    answers.set('http://am1:9093', [amAlert()]);
    answers.set('http://am2:9093', [amAlert()]);
    await source.poll();
    await source.poll();
    expect(pipeline.handed).toHaveLength(1);
    expect(pipeline.handed[0]).toMatchObject({ kind: 'critical', key: `0123456789abcdef|${T0}`, alertName: 'HeadroomProcessMemoryCritical' });
  });

  it('an alert for another instance is dropped, never handed', async () => {
    const { source, pipeline, answers } = setup();
    answers.set('http://am1:9093', [amAlert({ instance: '10.0.0.3:9632', fp: 'aaaa' })]);
    answers.set('http://am2:9093', []);
    const r = await source.poll();
    expect(r.foreign).toBe(1);
    expect(pipeline.handed).toHaveLength(0);
  });

  it('silenced on either member → no trigger, one "silenced" notification naming the silence', async () => {
    const { source, pipeline, sent, answers } = setup();
    answers.set('http://am1:9093', [amAlert()]);
    answers.set('http://am2:9093', [amAlert({ state: 'suppressed', silencedBy: ['sil-1'] })]);
    await source.poll();
    await source.poll();
    expect(pipeline.handed).toHaveLength(0);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ kind: 'refusal', reasonCode: 'silenced', host: 'host-b' });
    expect(sent[0]?.kind === 'refusal' ? sent[0].reason : '').toContain('silence sil-1');
  });

  it('unprocessed (not yet checked against silences) waits for the next round', async () => {
    const { source, pipeline, answers } = setup();
    answers.set('http://am1:9093', [amAlert({ state: 'unprocessed' })]);
    answers.set('http://am2:9093', [amAlert({ state: 'unprocessed' })]);
    await source.poll();
    expect(pipeline.handed).toHaveLength(0);
    answers.set('http://am1:9093', [amAlert()]);
    answers.set('http://am2:9093', [amAlert()]);
    await source.poll();
    expect(pipeline.handed).toHaveLength(1);
  });

  it('a critical alert routed to a notify receiver only notifies', async () => {
    const { source, pipeline, answers } = setup();
    answers.set('http://am1:9093', [amAlert({ receivers: ['headroom-notify'] })]);
    answers.set('http://am2:9093', []);
    await source.poll();
    expect(pipeline.handed.map((t) => t.kind)).toEqual(['warning']);
  });

  it('gone from every member that answered → resolved; nothing resolves while no member answers', async () => {
    const { source, pipeline, answers } = setup();
    answers.set('http://am1:9093', [amAlert()]);
    answers.set('http://am2:9093', new Error('down'));
    await source.poll();
    answers.set('http://am1:9093', new Error('down'));
    const none = await source.poll();
    expect(none.answered).toBe(0);
    expect(pipeline.handed.map((t) => t.kind)).toEqual(['critical']);
    answers.set('http://am1:9093', []);
    await source.poll();
    expect(pipeline.handed.map((t) => t.kind)).toEqual(['critical', 'resolved']);
  });

  it('rejects an answer that is not GettableAlerts, naming the field', () => {
    const r = parseAlerts(JSON.stringify([{ labels: {}, startsAt: 'x' }]));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(/^0\./);
  });
});

describe('alerting/alertmanager-fleet.yml', () => {
  it('has the single-host config\'s route tree and inhibit rules, and receivers without webhooks', () => {
    const single = load(readFileSync(repo('alerting', 'alertmanager.yml'), 'utf8')) as Record<string, unknown>;
    const fleet = load(readFileSync(repo('alerting', 'alertmanager-fleet.yml'), 'utf8')) as Record<string, unknown> & { receivers: Array<Record<string, unknown>> };
    expect(fleet.route).toEqual(single.route);
    expect(fleet.inhibit_rules).toEqual(single.inhibit_rules);
    expect(fleet.receivers.map((r) => r.name).sort()).toEqual(['headroom-notify', 'headroom-remediate']);
    expect(fleet.receivers.every((r) => r.webhook_configs === undefined)).toBe(true);
  });
});

describe('fleet config', () => {
  it('fleet.enabled needs this host\'s instance and the Alertmanagers, named by key', async () => {
    const { parseConfig, ConfigError } = await import('../../src/config/load.js');
    let error: unknown;
    try {
      parseConfig({ fleet: { enabled: true, alertmanagers: ['ftp://am'] } }, 'test.yml');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const text = (error as Error).message;
    expect(text).toContain('fleet.alertmanagers[0]: got "ftp://am"; must be an http:// or https:// URL of an Alertmanager');
    expect(text).toContain('fleet.instance: is required with fleet.enabled');
    const ok = parseConfig({ fleet: { enabled: true, instance: '10.0.0.2:9632', alertmanagers: ['https://am-1:9093', 'https://am-2:9093'] } }, 'test.yml');
    expect(ok.fleet).toMatchObject({ interval: 5000, timeout: 4000, remediate_receivers: ['headroom-remediate'] });
    expect(() => parseConfig({ fleet: { enabled: true, alertmanagers: ['https://am-1:9093'] } }, 'test.yml')).toThrow(/fleet\.instance: is required with fleet\.enabled/);
  });
});
