import { formatBytes } from '../config/units.js';
import type { Plan, ProcessIdentity } from '../policy/types.js';
import { waitUntil, type Action, type ActionEnv, type ActionReport } from './action.js';
import { escalation, type EscalationVerdict } from './escalation.js';

const key = (id: ProcessIdentity): string => `${id.pid}@${id.startTime}`;

/**
 * Stops a process tree: SIGTERM to the process and its descendants, wait the grace period (or until all are
 * gone), SIGKILL what remains (including children forked meanwhile), then confirm they are gone and how much
 * resident memory they held.
 */
export const stopProcessTree: Action = {
  name: 'stop_process_tree',
  async run(plan: Plan, env: ActionEnv): Promise<ActionReport> {
    if (plan.target.kind !== 'process') throw new Error(`stop_process_tree needs a process target, got ${plan.target.kind}`);
    const started = env.monotonic();
    const root = plan.target.root;
    const members = new Map<string, ProcessIdentity>();
    for (const id of plan.target.tree) members.set(key(id), id);
    const cgroup = plan.target.cgroup;
    if (env.processes.identify(root.pid)?.startTime === root.startTime) {
      for (const id of env.processes.descendants(root.pid, cgroup)) members.set(key(id), id);
    }
    const rssBefore = new Map<string, number>();
    for (const [k, id] of members) {
      const live = env.processes.identify(id.pid);
      if (live !== undefined && live.startTime === id.startTime) rssBefore.set(k, live.residentBytes);
    }
    const aliveIds = (): ProcessIdentity[] =>
      [...members.values()].filter((id) => env.processes.identify(id.pid)?.startTime === id.startTime);
    const treeBytesBefore = [...rssBefore.values()].reduce((a, b) => a + b, 0);
    const before = { processes: rssBefore.size, tree_resident_bytes: treeBytesBefore };
    if (env.dryRun) {
      return {
        action: 'stop_process_tree',
        dryRun: true,
        result: 'dry_run',
        detail: `dry run: would send SIGTERM to ${rssBefore.size} processes (PID ${root.pid} and descendants, ${formatBytes(treeBytesBefore)}), SIGKILL after ${env.killGraceMs / 1000} s`,
        before,
        after: before,
        durationSeconds: env.monotonic() - started,
        signalled: [],
        remaining: aliveIds(),
      };
    }
    const signalled: ProcessIdentity[] = [];
    for (const id of aliveIds()) if (env.processes.signal(id, 'SIGTERM') === 'sent') signalled.push(id);
    const rule = { graceMs: env.killGraceMs, escalateAfterMs: env.escalation?.escalateAfterMs ?? env.killGraceMs, killBelow: env.escalation?.killBelow ?? 0 };
    const termAt = env.monotonic();
    const seen: { verdict: EscalationVerdict } = { verdict: 'wait' };
    await waitUntil(env, env.killGraceMs, () => {
      if (aliveIds().length === 0) return true;
      seen.verdict = escalation((env.monotonic() - termAt) * 1000, env.escalation?.availableRatio(), rule);
      return seen.verdict === 'kill_thrash';
    });
    const exitedOnTerm = aliveIds().length === 0;
    const escalated = !exitedOnTerm && seen.verdict === 'kill_thrash';
    let killed = 0;
    if (!exitedOnTerm) {
      // Children forked during the grace period belong to the tree too.
      for (const id of aliveIds()) for (const child of env.processes.descendants(id.pid, cgroup)) members.set(key(child), child);
      for (const id of aliveIds()) {
        if (env.processes.signal(id, 'SIGKILL') === 'sent') {
          killed += 1;
          if (!signalled.some((s) => key(s) === key(id))) signalled.push(id);
        }
      }
      await waitUntil(env, env.confirmTimeoutMs, () => aliveIds().length === 0);
    }
    const remaining = aliveIds();
    const remainingKeys = new Set(remaining.map(key));
    let freed = 0;
    for (const [k, bytes] of rssBefore) if (!remainingKeys.has(k)) freed += bytes;
    let remainingBytes = 0;
    for (const id of remaining) remainingBytes += env.processes.identify(id.pid)?.residentBytes ?? 0;
    const gone = members.size - remaining.length;
    const result = remaining.length === 0 ? 'success' : gone > 0 ? 'partial' : 'failed';
    return {
      action: 'stop_process_tree',
      dryRun: false,
      result,
      detail:
        `SIGTERM to ${signalled.length} processes` +
        (exitedOnTerm
          ? ', all exited within the grace period'
          : escalated
            ? `, SIGKILL to ${killed} after ${rule.escalateAfterMs / 1000} s (available memory still below the kill line of ${(rule.killBelow * 100).toFixed(1)} %)`
            : `, SIGKILL to ${killed} after ${env.killGraceMs / 1000} s`) +
        (remaining.length === 0 ? '; all gone' : `; ${remaining.length} still running (${remaining.map((r) => r.pid).join(', ')})`),
      before,
      after: { processes: remaining.length, tree_resident_bytes: remainingBytes },
      freedBytes: freed,
      durationSeconds: env.monotonic() - started,
      signalled,
      remaining,
      ...(escalated ? { escalated: true } : {}),
    };
  },
};
