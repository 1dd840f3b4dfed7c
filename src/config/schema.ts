import type { z } from 'zod';
import { section } from './schema-helpers.js';
import { agentSection, collectorsSection, thresholdsSection } from './sections/agent.js';

/**
 * The whole config file. Each top-level key is one section, defined in ./sections/<name>.ts by the feature
 * that owns it. Every section has defaults, so an empty file (or none) is a working config.
 */
export const configSchema = section({
  agent: agentSection.prefault({}),
  collectors: collectorsSection.prefault({}),
  thresholds: thresholdsSection.prefault({}),
});

export type HeadroomConfig = z.infer<typeof configSchema>;
