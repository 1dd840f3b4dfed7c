import { Counter, Gauge, type Registry } from 'prom-client';
import type { ActionOutcome, DecisionSource, RefusalCode, RemediationAction } from '../domain/remediation.js';

/** What the pipeline counts. */
export interface RemediationMetrics {
  action(action: RemediationAction, result: ActionOutcome, source: DecisionSource): void;
  refusal(reason: RefusalCode | 'error', source: DecisionSource): void;
  duplicate(source: DecisionSource): void;
  /** Triggers waiting in the pipeline's queue. */
  queueDepth(depth: number): void;
}

/** The receiver's own counters (HTTP side). */
export interface ReceiverMetrics {
  request(route: string, code: number): void;
  rejected(route: string, reason: string): void;
  queueDepth(depth: number): void;
  /** Keys of an accepted message the schema does not know (tolerated, dropped), where = message | alert. */
  unknownFields(where: 'message' | 'alert', count: number): void;
}

/**
 * Registers the remediation and receiver metrics on a registry the agent renders after the collectors:
 * headroom_remediation_actions_total{action,result,source}, headroom_remediation_refusals_total{reason,source},
 * headroom_remediation_duplicates_total{source}, headroom_receiver_requests_total{route,code},
 * headroom_receiver_rejected_total{route,reason}, headroom_receiver_unknown_fields_total{where},
 * headroom_remediation_queue_depth.
 */
export function createRemediationMetrics(registry: Registry): RemediationMetrics & ReceiverMetrics {
  const actions = new Counter({
    name: 'headroom_remediation_actions_total',
    help: 'Remediation actions by action, result (success, partial, failed, dry_run, error) and source (receiver, guard).',
    labelNames: ['action', 'result', 'source'],
    registers: [registry],
  });
  const refusals = new Counter({
    name: 'headroom_remediation_refusals_total',
    help: 'Critical alerts or guard crossings that led to no action, by reason code and source.',
    labelNames: ['reason', 'source'],
    registers: [registry],
  });
  const duplicates = new Counter({
    name: 'headroom_remediation_duplicates_total',
    help: 'Repeated or HA-duplicated alerts ignored by the idempotency state.',
    labelNames: ['source'],
    registers: [registry],
  });
  const requests = new Counter({
    name: 'headroom_receiver_requests_total',
    help: 'Webhook requests by route and HTTP status code.',
    labelNames: ['route', 'code'],
    registers: [registry],
  });
  const rejected = new Counter({
    name: 'headroom_receiver_rejected_total',
    help: 'Webhook requests rejected before any decision (unauthenticated, oversized, malformed, wrong_version, queue_full).',
    labelNames: ['route', 'reason'],
    registers: [registry],
  });
  const unknownFields = new Counter({
    name: 'headroom_receiver_unknown_fields_total',
    help: 'Keys of accepted webhook messages that headroom does not know (tolerated and dropped), on the message or on its alerts; a newer Alertmanager adds them.',
    labelNames: ['where'],
    registers: [registry],
  });
  for (const where of ['message', 'alert']) unknownFields.inc({ where }, 0);
  const depth = new Gauge({
    name: 'headroom_remediation_queue_depth',
    help: 'Alerts accepted by the receiver and waiting for the remediation worker.',
    registers: [registry],
  });
  return {
    action: (action, result, source) => actions.inc({ action, result, source }),
    refusal: (reason, source) => refusals.inc({ reason, source }),
    duplicate: (source) => duplicates.inc({ source }),
    request: (route, code) => requests.inc({ route, code: String(code) }),
    rejected: (route, reason) => rejected.inc({ route, reason }),
    queueDepth: (d) => depth.set(d),
    unknownFields: (where, count) => unknownFields.inc({ where }, count),
  };
}
