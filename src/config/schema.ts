import type { z } from 'zod';
import { section } from './schema-helpers.js';
import { guardSection } from './sections/guard.js';
import { agentSection, collectorsSection, thresholdsSection } from './sections/agent.js';
import { notifySection } from './sections/notify.js';
import { runSection } from './sections/run.js';
import { receiverSection } from './sections/receiver.js';
import { remediationSection } from './sections/remediation.js';
import { webSection } from './sections/web.js';
import { fleetSection } from './sections/fleet.js';

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
  /** The agent's HTTP server: exporter-toolkit web config (TLS, basic auth). Owned by src/web/. */
  web: webSection.prefault({}),
  /** Pulling this host's alerts from the Alertmanager cluster (docs/fleet.md). Owned by src/fleet/. */
  fleet: fleetSection.prefault({}),
}).superRefine((c, ctx) => {
  // The re-check before acting calls memory "recovered" below remediation.recovered.*: if that line were at or
  // above the line an alert (or the guard) fires at, every critical alert would be refused as recovered.
  const below = (key: string, value: number, limitKey: string, limit: number): void => {
    if (value < limit) return;
    ctx.addIssue({
      code: 'custom',
      path: ['remediation', 'recovered', key],
      message: `is ${value}, but must be below ${limitKey} (${limit}), or every critical alert would be refused as "recovered"; lower it or raise ${limitKey}`,
    });
  };
  const r = c.remediation.recovered;
  below('host_used_below', r.host_used_below, 'thresholds.host_memory_critical', c.thresholds.host_memory_critical);
  if (c.guard.enabled && c.guard.watch_cgroup === undefined) {
    below('host_used_below', r.host_used_below, '1 − guard.available_below', Number((1 - c.guard.available_below).toFixed(6)));
  }
  if (c.guard.enabled && c.guard.watch_cgroup !== undefined) {
    below('cgroup_used_below', r.cgroup_used_below, '1 − guard.available_below', Number((1 - c.guard.available_below).toFixed(6)));
  }
  below('cgroup_used_below', r.cgroup_used_below, 'thresholds.cgroup_critical', c.thresholds.cgroup_critical);
  below('process_tree_share_below', r.process_tree_share_below, 'thresholds.process_tree_critical', c.thresholds.process_tree_critical);
});

export type HeadroomConfig = z.infer<typeof configSchema>;
