import { z } from 'zod';
import { section } from '../schema-helpers.js';

/**
 * Transport security of the agent's HTTP server. `config_file` is a Prometheus exporter-toolkit web config
 * file (the one node_exporter takes as --web.config.file): tls_server_config and basic_auth_users. Without
 * it the agent serves plain HTTP (and listens on loopback by default).
 */
export const webSection = section({
  config_file: z.string().min(1).optional(),
});

export type WebConfig = z.infer<typeof webSection>;
