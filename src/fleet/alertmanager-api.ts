import { z } from 'zod';

/**
 * The part of Alertmanager's API v2 `GET /api/v2/alerts` answer (GettableAlerts) that headroom uses. Unknown
 * fields are tolerated (the API grows); what is used is validated. Pure: text in, alerts or a problem out.
 */
const labelSet = z.record(z.string(), z.string());
const gettableAlert = z.looseObject({
  labels: labelSet,
  annotations: labelSet.default({}),
  startsAt: z.iso.datetime({ offset: true }),
  endsAt: z.iso.datetime({ offset: true }),
  updatedAt: z.iso.datetime({ offset: true }).optional(),
  generatorURL: z.string().default(''),
  fingerprint: z.string().regex(/^[0-9a-f]{1,32}$/),
  receivers: z.array(z.looseObject({ name: z.string() })).default([]),
  status: z.looseObject({
    state: z.enum(['unprocessed', 'active', 'suppressed']),
    silencedBy: z.array(z.string()).nullish(),
    inhibitedBy: z.array(z.string()).nullish(),
  }),
});
const gettableAlerts = z.array(gettableAlert);

export type GettableAlert = z.infer<typeof gettableAlert>;

export function parseAlerts(text: string): { readonly ok: true; readonly alerts: GettableAlert[] } | { readonly ok: false; readonly reason: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return { ok: false, reason: `not JSON: ${error instanceof Error ? error.message : String(error)}` };
  }
  const r = gettableAlerts.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    return { ok: false, reason: `${issue ? issue.path.map(String).join('.') : ''}: ${issue?.message ?? 'invalid'}` };
  }
  return { ok: true, alerts: r.data };
}

/** Label value quoting of Alertmanager matchers ("instance=\"10.0.0.5:9632\""). */
export function matcher(name: string, value: string): string {
  return `${name}=${JSON.stringify(value)}`;
}

/**
 * The query for one host's alerts: active, silenced, inhibited and unprocessed ones alike, so the agent can
 * tell "silenced" (say so, do not act) from "gone" (resolved); `filter` narrows to this instance on the server.
 */
export function alertsPath(instance: string): string {
  const q = new URLSearchParams({ active: 'true', silenced: 'true', inhibited: 'true', unprocessed: 'true', filter: matcher('instance', instance) });
  return `/api/v2/alerts?${q.toString()}`;
}
