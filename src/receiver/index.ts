import type { HeadroomConfig } from '../config/schema.js';
import type { Logger } from '../logging/logger.js';
import type { Remediation } from '../remediation/setup.js';
import { type Credentials } from './auth.js';
import { Receiver } from './receiver.js';

export { loadCredentials, hasCredentials, authorize } from './auth.js';
export { Receiver } from './receiver.js';

/** The receiver on top of a remediation stack built with actionsEnabled = hasCredentials(credentials). */
export function createReceiver(
  config: HeadroomConfig,
  remediation: Remediation,
  credentials: Credentials,
  clocks: { readonly now: () => Date; readonly monotonic: () => number },
  logger: Logger,
): Receiver {
  return new Receiver({
    pipeline: remediation.pipeline,
    credentials,
    maxBodyBytes: config.receiver.max_body_bytes,
    maxQueue: config.receiver.max_queue,
    audit: remediation.audit,
    metrics: remediation.metrics,
    now: clocks.now,
    logger,
  });
}
