import { z } from 'zod';

/** Prometheus label names; "__"-prefixed names are reserved (and would reach Object.prototype keys). */
const labelName = z
  .string()
  .regex(/^[a-zA-Z_][a-zA-Z0-9_]{0,127}$/, { error: 'label names must match [a-zA-Z_][a-zA-Z0-9_]*' })
  .refine((k) => !k.startsWith('__'), { error: 'label names starting with "__" are reserved' });
const labelSet = z.record(labelName, z.string().max(16_384));
/** RFC 3339 with any sub-second precision (Go prints nanoseconds), "Z" or an offset. */
const timestamp = z.iso.datetime({ offset: true });

export const alertSchema = z.strictObject({
  status: z.enum(['firing', 'resolved']),
  labels: labelSet,
  annotations: labelSet,
  startsAt: timestamp,
  endsAt: timestamp,
  generatorURL: z.string().max(8192),
  fingerprint: z.string().regex(/^[0-9a-f]{1,32}$/, { error: 'must be a hex fingerprint' }),
});

/** Alertmanager webhook payload, version 4. Unknown keys are rejected. */
export const webhookSchema = z.strictObject({
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

export type ParseOutcome =
  | { ok: true; payload: WebhookPayload }
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
  return { ok: true, payload: result.data };
}
