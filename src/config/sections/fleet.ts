import { z } from 'zod';
import { duration, section } from '../schema-helpers.js';

/**
 * Fleet mode (docs/fleet.md): the agent pulls the alerts about its own host from every Alertmanager of the HA
 * cluster (API v2) and hands them to the remediation pipeline. No inbound webhook, silences and inhibitions
 * respected, the cluster's duplicates collapse on fingerprint + startsAt. Off by default.
 */
export const fleetSection = section({
  enabled: z.boolean().default(false),
  /**
   * This host's `instance` label exactly as Prometheus attaches it to the agent's series (the scrape target,
   * e.g. "10.0.0.5:9632", or what relabelling makes of it). Only alerts with this instance are pulled.
   */
  instance: z.string().min(1).optional(),
  /** Base URLs of every Alertmanager in the cluster, e.g. ["https://am-1:9093", "https://am-2:9093"]. */
  alertmanagers: z.array(z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL of an Alertmanager' })).default([]),
  /** How often the alerts are pulled. */
  interval: duration().prefault('5s'),
  /** One request to one Alertmanager is abandoned after this long. */
  timeout: duration().prefault('4s'),
  /** Alerts routed to one of these Alertmanager receivers may act (the rest only notify). */
  remediate_receivers: z.array(z.string().min(1)).default(['headroom-remediate']),
  /** TLS towards the Alertmanagers (their own --web.config.file): CA to trust, client certificate. */
  tls: section({
    ca_file: z.string().min(1).optional(),
    cert_file: z.string().min(1).optional(),
    key_file: z.string().min(1).optional(),
  }).prefault({}),
  /** Basic auth towards the Alertmanagers: the password is read from a file. */
  basic_auth: section({
    username: z.string().min(1),
    password_file: z.string().min(1),
  }).optional(),
}).superRefine((f, ctx) => {
  if (!f.enabled) return;
  if (f.instance === undefined) ctx.addIssue({ code: 'custom', path: ['instance'], message: 'is required with fleet.enabled: this host\'s instance label as Prometheus sets it, e.g. "10.0.0.5:9632"' });
  if (f.alertmanagers.length === 0) ctx.addIssue({ code: 'custom', path: ['alertmanagers'], message: 'needs at least one Alertmanager URL with fleet.enabled (list every member of the HA cluster)' });
  if ((f.tls.cert_file === undefined) !== (f.tls.key_file === undefined)) ctx.addIssue({ code: 'custom', path: ['tls', 'key_file'], message: 'cert_file and key_file go together' });
  if (f.timeout >= f.interval) ctx.addIssue({ code: 'custom', path: ['timeout'], message: `must be below fleet.interval (${f.interval} ms)` });
});

export type FleetConfig = z.infer<typeof fleetSection>;
