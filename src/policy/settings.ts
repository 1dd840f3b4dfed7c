import type { RemediationConfig } from '../config/sections/remediation.js';
import { resolveSize } from '../config/units.js';
import type { Matchers, PolicySettings } from './types.js';

function compile(m: { comm: readonly string[]; cmdline: readonly string[] }): Matchers {
  return { comm: m.comm.map((r) => new RegExp(r)), cmdline: m.cmdline.map((r) => new RegExp(r)) };
}

/** The policy settings of a validated `remediation:` config section. */
export function policySettings(cfg: RemediationConfig): PolicySettings {
  return {
    minVictimBytes: (memTotal) => resolveSize(cfg.min_victim_size, memTotal),
    protect: compile(cfg.protect),
    prefer: compile(cfg.prefer),
    avoid: compile(cfg.avoid),
    recovered: {
      hostUsedBelow: cfg.recovered.host_used_below,
      cgroupUsedBelow: cfg.recovered.cgroup_used_below,
      processTreeShareBelow: cfg.recovered.process_tree_share_below,
    },
    actions: {
      host: cfg.actions.host,
      process: cfg.actions.process,
      cgroup: cfg.actions.cgroup,
      byAlertName: cfg.actions.alerts,
    },
    dropCachesEnabled: cfg.drop_caches.enabled,
    throttleRatio: cfg.throttle.ratio,
    limits: { actionsPerWindow: cfg.actions_per_window, windowMs: cfg.window, cooldownMs: cfg.cooldown },
    incident: {
      maxVictims: cfg.incident.max_victims,
      maxReclaimBytes: (total) => resolveSize(cfg.incident.max_reclaim, total),
      settleMs: cfg.incident.settle,
      killBelow: cfg.incident.kill_below,
      escalateAfterMs: cfg.incident.escalate_after,
      closeAfterMs: cfg.incident.close_after,
    },
  };
}
