import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseWebhook } from '../../src/receiver/payload.js';
import { post, removeDir, startHarness, type Harness } from './harness.js';

/**
 * What Alertmanager sends, by version. notify/webhook.Message embeds template.Data; v0.25 (the Debian package
 * the stack tests run) has version, groupKey, truncatedAlerts, receiver, status, alerts, groupLabels,
 * commonLabels, commonAnnotations, externalURL. v0.32 added `notification_reason` (DedupStage's reason),
 * and later releases `routeLabels` (a Go map: `null` when the route has none). Alertmanager's own Go receivers
 * decode with encoding/json, which ignores fields they do not know.
 */
const alert025 = {
  status: 'firing',
  labels: { alertname: 'HeadroomHostMemoryHigh', severity: 'warning', instance: 'host:9632' },
  annotations: { summary: 'memory above 80%' },
  startsAt: '2025-12-12T03:12:00.123456789Z',
  endsAt: '0001-01-01T00:00:00Z',
  generatorURL: 'http://prometheus:9090/graph?g0.expr=x',
  fingerprint: 'fbab788ec4c1018b',
};

const message025 = {
  receiver: 'headroom-notify',
  status: 'firing',
  alerts: [alert025],
  groupLabels: { alertname: 'HeadroomHostMemoryHigh' },
  commonLabels: { alertname: 'HeadroomHostMemoryHigh', severity: 'warning', instance: 'host:9632' },
  commonAnnotations: { summary: 'memory above 80%' },
  externalURL: 'http://alertmanager:9093',
  version: '4',
  groupKey: '{}:{alertname="HeadroomHostMemoryHigh"}',
  truncatedAlerts: 0,
};

/** The field order and set of Alertmanager 0.34 (template.Data + webhook.Message). */
const messageCurrent = {
  receiver: 'headroom-notify',
  status: 'firing',
  alerts: [alert025],
  notification_reason: 'first notification',
  groupLabels: { alertname: 'HeadroomHostMemoryHigh' },
  commonLabels: { alertname: 'HeadroomHostMemoryHigh', severity: 'warning', instance: 'host:9632' },
  commonAnnotations: { summary: 'memory above 80%' },
  routeLabels: null,
  externalURL: 'http://alertmanager:9093',
  version: '4',
  groupKey: '{}:{alertname="HeadroomHostMemoryHigh"}',
  truncatedAlerts: 0,
};

const invented = {
  ...messageCurrent,
  routeLabels: { team: 'ml' },
  futureTopLevel: { nested: [1, 2, 3] },
  anotherOne: 'x',
  alerts: [{ ...alert025, silenceURL: 'http://am/silence', futureAlertField: 42 }, { ...alert025, fingerprint: '0123abcd', values: { A: 1 } }],
};

describe('Alertmanager webhook payloads, old and new', () => {
  it('accepts a 0.25 message and counts no unknown field', () => {
    const r = parseWebhook(JSON.stringify(message025));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.payload.alerts[0]?.labels.alertname).toBe('HeadroomHostMemoryHigh');
    expect(r.unknownFields).toEqual({ message: 0, alert: 0 });
  });

  it('accepts the current (0.32+) message with notification_reason and routeLabels, and counts them', () => {
    const r = parseWebhook(JSON.stringify(messageCurrent));
    expect(r.ok, r.ok ? '' : r.reason).toBe(true);
    if (!r.ok) return;
    expect(r.payload.groupKey).toBe(messageCurrent.groupKey);
    expect(r.unknownFields).toEqual({ message: 2, alert: 0 });
    // Unknown fields are not carried into what the receiver uses.
    expect(Object.keys(r.payload)).not.toContain('notification_reason');
  });

  it('accepts invented extra keys at the top level and per alert, and counts each', () => {
    const r = parseWebhook(JSON.stringify(invented));
    expect(r.ok, r.ok ? '' : r.reason).toBe(true);
    if (!r.ok) return;
    expect(r.payload.alerts).toHaveLength(2);
    expect(r.unknownFields).toEqual({ message: 4, alert: 3 });
    expect(Object.keys(r.payload.alerts[0] ?? {})).not.toContain('futureAlertField');
  });

  it('still refuses what is truly malformed, naming the field', () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ ...messageCurrent, status: 'maybe' }, /^status:/],
      [{ ...messageCurrent, alerts: [] }, /^alerts:/],
      [{ ...messageCurrent, alerts: [{ ...alert025, startsAt: 'yesterday' }] }, /^alerts\.0\.startsAt:/],
      [{ ...messageCurrent, alerts: [{ ...alert025, fingerprint: undefined }] }, /^alerts\.0\.fingerprint:/],
      [{ ...messageCurrent, alerts: [{ ...alert025, labels: { __name__: 'x' } }] }, /^alerts\.0\.labels/],
      [{ ...messageCurrent, groupKey: 7 }, /^groupKey:/],
      [{ ...messageCurrent, alerts: ['x'] }, /^alerts\.0:/],
    ];
    for (const [body, reason] of cases) {
      const r = parseWebhook(JSON.stringify(body));
      expect(r.ok, JSON.stringify(body).slice(0, 200)).toBe(false);
      if (!r.ok) expect(r.reason).toMatch(reason);
    }
    expect(parseWebhook(JSON.stringify({ ...messageCurrent, version: '5' }))).toMatchObject({ ok: false, reasonCode: 'wrong_version' });
    expect(parseWebhook('{"version":"4"')).toMatchObject({ ok: false, reasonCode: 'malformed' });
  });
});

describe('the receiver over HTTP with current Alertmanager messages', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ allowed: () => new Set() });
  });
  afterAll(async () => {
    await h.close();
    removeDir(h.dir);
  });

  it('answers 2xx to 0.25, current and invented-key messages on both routes, 400 to malformed, and counts unknown fields', async () => {
    for (const route of ['notify', 'remediate']) {
      for (const [i, body] of [message025, messageCurrent, invented].entries()) {
        const fp = (n: number) => `${route === 'notify' ? 'a' : 'b'}${i}${n}`.padEnd(16, '0');
        const withFreshFingerprints = { ...body, alerts: body.alerts.map((a, n) => ({ ...a, fingerprint: fp(n) })) };
        const res = await post(h.url, withFreshFingerprints, undefined, route);
        expect(res.status, `${route} #${i}: ${JSON.stringify(res.json)}`).toBe(200);
      }
      expect((await post(h.url, { ...messageCurrent, status: 'maybe' }, undefined, route)).status).toBe(400);
    }
    await h.receiver.idle();
    const text = await h.registry.metrics();
    // Per route: 2 unknown top-level fields in the current message + 4 in the invented one; 3 per-alert ones.
    expect(text).toMatch(/^headroom_receiver_unknown_fields_total\{where="message"\} 12$/m);
    expect(text).toMatch(/^headroom_receiver_unknown_fields_total\{where="alert"\} 6$/m);
  });
});
