import { targetFromLabels } from '../policy/targets.js';
import type { Trigger } from '../remediation/trigger.js';
import type { WebhookAlert, WebhookPayload } from './payload.js';

export type Route = 'remediate' | 'notify';

/** The idempotency key of an alert occurrence: Alertmanager's fingerprint and the alert's startsAt. */
export function alertKey(alert: Pick<WebhookAlert, 'fingerprint' | 'startsAt'>): string {
  return `${alert.fingerprint}|${new Date(alert.startsAt).toISOString()}`;
}

function text(alert: WebhookAlert, name: string): string | undefined {
  const v = alert.annotations[name];
  return v === undefined || v.length === 0 ? undefined : v;
}

/**
 * One trigger per alert (never from commonLabels alone). On /alerts/remediate a firing alert with
 * severity="critical" is a critical trigger; any other firing alert, and every firing alert on
 * /alerts/notify, is a warning; resolved alerts are resolved triggers. A truncated notification's critical
 * alerts are refused (a partial view of the group is no basis for killing).
 */
export function triggersFromPayload(payload: WebhookPayload, route: Route): Trigger[] {
  return payload.alerts.map((alert): Trigger => {
    const alertName = alert.labels.alertname ?? payload.groupLabels.alertname ?? 'unnamed';
    const startsAt = new Date(alert.startsAt);
    const summary = text(alert, 'summary') ?? text(alert, 'description') ?? alertName;
    const key = alertKey(alert);
    if (alert.status === 'resolved') {
      return { kind: 'resolved', source: 'receiver', key: `resolved|${key}`, alertName, summary, startsAt, endsAt: new Date(alert.endsAt), fingerprint: alert.fingerprint };
    }
    if (route === 'remediate' && alert.labels.severity === 'critical') {
      return {
        kind: 'critical',
        source: 'receiver',
        key,
        alertName,
        target: targetFromLabels(alert.labels),
        startsAt,
        fingerprint: alert.fingerprint,
        refuse:
          payload.truncatedAlerts > 0
            ? { code: 'truncated', reason: `Alertmanager truncated ${payload.truncatedAlerts} alerts from this notification; not acting on a partial view (raise max_alerts on the receiver)` }
            : undefined,
      };
    }
    const predicted = Number(alert.annotations.predicted_exhaustion_seconds);
    return {
      kind: 'warning',
      source: 'receiver',
      key: `warning|${key}`,
      alertName,
      severity: alert.labels.severity === 'info' ? 'info' : 'warning',
      summary,
      description: text(alert, 'description'),
      runbookUrl: text(alert, 'runbook_url'),
      startsAt,
      predictedExhaustionSeconds: Number.isFinite(predicted) && predicted > 0 ? predicted : undefined,
      fingerprint: alert.fingerprint,
    };
  });
}
