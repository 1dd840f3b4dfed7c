import type { z } from 'zod';
import { section } from './schema-helpers.js';
import { guardSection } from './sections/guard.js';
import { kubernetesSection } from './sections/kubernetes.js';
import { agentSection, collectorsSection, thresholdsSection } from './sections/agent.js';
import { notifySection } from './sections/notify.js';
import { pageSection } from './sections/page.js';
import { runSection } from './sections/run.js';
import { receiverSection } from './sections/receiver.js';
import { remediationSection } from './sections/remediation.js';
import { webSection } from './sections/web.js';
import { fleetSection } from './sections/fleet.js';

/** A duration for a message, in the file's own notation: 1500 → "1500ms", 2000 → "2s". */
const ms = (value: number): string => (value >= 1000 && value % 1000 === 0 ? `${value / 1000}s` : `${value}ms`);

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
  /** The agent's status page at / and its short history (issue #13). */
  page: pageSection.prefault({}),
  run: runSection.prefault({}),
  receiver: receiverSection.prefault({}),
  remediation: remediationSection.prefault({}),
  kubernetes: kubernetesSection.prefault({}),
  /** The agent's HTTP server: exporter-toolkit web config (TLS, basic auth). Owned by src/web/. */
  web: webSection.prefault({}),
  /** Pulling this host's alerts from the Alertmanager cluster (docs/fleet.md). Owned by src/fleet/. */
  fleet: fleetSection.prefault({}),
}).superRefine((c, ctx) => {
  // Each warning line must come before its critical line, or the warning never precedes the page.
  const t = c.thresholds;
  for (const [warning, critical] of [
    ['host_memory_warning', 'host_memory_critical'],
    ['swap_warning', 'swap_critical'],
    ['cgroup_warning', 'cgroup_critical'],
  ] as const) {
    if (t[warning] < t[critical]) continue;
    ctx.addIssue({
      code: 'custom',
      path: ['thresholds', warning],
      message: `is ${t[warning]}, but must be below thresholds.${critical} (${t[critical]}): the warning must come before the critical alert; lower it or raise thresholds.${critical}`,
    });
  }
  // The guard polls every min_interval near its line and every max_interval far from it.
  if (c.guard.min_interval > c.guard.max_interval) {
    ctx.addIssue({
      code: 'custom',
      path: ['guard', 'min_interval'],
      message: `is ${ms(c.guard.min_interval)}, but must not exceed guard.max_interval (${ms(c.guard.max_interval)}): the guard polls every min_interval near the line and every max_interval far from it; lower it or raise guard.max_interval`,
    });
  }
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
