import type { z } from 'zod';
import { section } from './schema-helpers.js';
import { guardSection } from './sections/guard.js';
import { agentSection, collectorsSection, thresholdsSection } from './sections/agent.js';
import { notifySection } from './sections/notify.js';
import { runSection } from './sections/run.js';
import { receiverSection } from './sections/receiver.js';
import { remediationSection } from './sections/remediation.js';

/**
 * The whole config file. Each top-level key is one section, defined in ./sections/<name>.ts by the feature
 * that owns it. Every section has defaults, so an empty file (or none) is a working config.
 */
export const configSchema = section({
  agent: agentSection.prefault({}),
  collectors: collectorsSection.prefault({}),
  thresholds: thresholdsSection.prefault({}),
  guard: guardSection.prefault({}),
  /** Absent: the agent runs no notification service. */
  notify: notifySection.optional(),
  run: runSection.prefault({}),
  receiver: receiverSection.prefault({}),
  remediation: remediationSection.prefault({}),
});

export type HeadroomConfig = z.infer<typeof configSchema>;
