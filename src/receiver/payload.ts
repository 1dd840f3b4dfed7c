import { z } from 'zod';

/** Prometheus label names; "__"-prefixed names are reserved (and would reach Object.prototype keys). */
const labelName = z
  .string()
  .regex(/^[a-zA-Z_][a-zA-Z0-9_]{0,127}$/, { error: 'label names must match [a-zA-Z_][a-zA-Z0-9_]*' })
  .refine((k) => !k.startsWith('__'), { error: 'label names starting with "__" are reserved' });
const labelSet = z.record(labelName, z.string().max(16_384));
/** RFC 3339 with any sub-second precision (Go prints nanoseconds), "Z" or an offset. */
const timestamp = z.iso.datetime({ offset: true });

/**
 * One alert. Like Alertmanager's own Go receivers (encoding/json), fields headroom uses are validated strictly
 * and fields it does not know are tolerated: dropped from the result and counted (`unknownFields`).
 */
export const alertSchema = z.object({
  status: z.enum(['firing', 'resolved']),
  labels: labelSet,
  annotations: labelSet,
  startsAt: timestamp,
  endsAt: timestamp,
  generatorURL: z.string().max(8192),
  fingerprint: z.string().regex(/^[0-9a-f]{1,32}$/, { error: 'must be a hex fingerprint' }),
});

/**
 * Alertmanager webhook message, version 4 (notify/webhook.Message + template.Data). Newer Alertmanagers add
 * keys (0.32: `notification_reason`; later `routeLabels`): unknown keys are tolerated, dropped and counted.
 */
export const webhookSchema = z.object({
  version: z.literal('4'),
  groupKey: z.string().max(16_384),
  truncatedAlerts: z.number().int().min(0),
  status: z.enum(['firing', 'resolved']),
  receiver: z.string().max(1024),
  groupLabels: labelSet,
  commonLabels: labelSet,
  commonAnnotations: labelSet.optional(),
  externalURL: z.string().max(8192).optional(),
  alerts: z.array(alertSchema).min(1).max(10_000),
});

export type WebhookAlert = z.infer<typeof alertSchema>;
export type WebhookPayload = z.infer<typeof webhookSchema>;

/** How many keys headroom does not know were dropped: on the message itself, and summed over its alerts. */
export interface UnknownFields {
  readonly message: number;
  readonly alert: number;
}

export type ParseOutcome =
  | { ok: true; payload: WebhookPayload; unknownFields: UnknownFields }
  | { ok: false; reasonCode: 'malformed' | 'wrong_version'; reason: string };

/** Parses and validates a request body: JSON, then version, then the v4 schema (reason names the field). */
export function parseWebhook(body: Buffer | string): ParseOutcome {
  let raw: unknown;
  try {
    raw = JSON.parse(typeof body === 'string' ? body : body.toString('utf8'));
  } catch (error) {
    return { ok: false, reasonCode: 'malformed', reason: `body is not JSON: ${error instanceof Error ? error.message : String(error)}` };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { ok: false, reasonCode: 'malformed', reason: 'body must be a JSON object (an Alertmanager webhook payload)' };
  }
  const version = (raw as { version?: unknown }).version;
  if (version !== '4') {
    return { ok: false, reasonCode: 'wrong_version', reason: `version ${JSON.stringify(version)?.slice(0, 20) ?? 'missing'}; only Alertmanager webhook version "4" is accepted` };
  }
  const result = webhookSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0];
    const path = issue ? issue.path.map(String).join('.') : '';
    const more = result.error.issues.length > 1 ? ` (and ${result.error.issues.length - 1} more problems)` : '';
    return { ok: false, reasonCode: 'malformed', reason: `${path || '(top level)'}: ${issue?.message ?? 'invalid'}${more}` };
  }
  return { ok: true, payload: result.data, unknownFields: countUnknown(raw as Record<string, unknown>) };
}

const MESSAGE_KEYS: ReadonlySet<string> = new Set(Object.keys(webhookSchema.shape));
const ALERT_KEYS: ReadonlySet<string> = new Set(Object.keys(alertSchema.shape));

/** Counts the keys of a message that passed validation that the schemas do not name. */
function countUnknown(raw: Record<string, unknown>): UnknownFields {
  const unknownIn = (o: object, known: ReadonlySet<string>): number => Object.keys(o).filter((k) => !known.has(k)).length;
  const alerts = Array.isArray(raw.alerts) ? (raw.alerts as unknown[]) : [];
  let alert = 0;
  for (const a of alerts) if (typeof a === 'object' && a !== null) alert += unknownIn(a, ALERT_KEYS);
  return { message: unknownIn(raw, MESSAGE_KEYS), alert };
}
