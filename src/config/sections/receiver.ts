import { z } from 'zod';
import { count, section, size } from '../schema-helpers.js';

/**
 * The remediation receiver: Alertmanager webhooks on the agent's HTTP server (POST /alerts/remediate and
 * POST /alerts/notify). Off unless enabled. Without a credential it only notifies (actions stay disabled).
 */
export const receiverSection = section({
  enabled: z.boolean().default(false),
  auth: section({
    /** File holding the bearer token (Alertmanager `credentials_file`); surrounding whitespace is ignored. */
    token_file: z.string().min(1).optional(),
    /** Environment variable holding the bearer token. */
    token_env: z.string().min(1).optional(),
    /** File holding "user:password" for HTTP basic auth. */
    basic_auth_file: z.string().min(1).optional(),
  }).prefault({}),
  /** Larger request bodies get 413 (Alertmanager's max_alerts keeps payloads small). */
  max_body_bytes: size().prefault('1M'),
  /** Alerts waiting for the worker; beyond this the receiver answers 503 (Alertmanager retries). */
  max_queue: count(1).default(10_000),
  /** Name of this host in notifications and incident reports (default: the machine's hostname). */
  host: z.string().min(1).optional(),
});

export type ReceiverConfig = z.infer<typeof receiverSection>;
