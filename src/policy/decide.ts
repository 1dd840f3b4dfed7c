import { formatBytes } from '../config/units.js';
import type { RemediationAction } from '../domain/remediation.js';
import { startTimeLabel, type ProcessEntry } from '../procfs/process-table.js';
import { protectedInTree } from './protections.js';
import { describeElsewhere, heldElsewhereBytes } from '../unowned/analysis.js';
import { chooseVictim, heldBytes, inCgroup, liveTreeBytes, rankVictims, type RankedCandidate } from './ranking.js';
import type { Decision, DecisionRequest, PlanTarget, PolicySettings, Refusal, Snapshot } from './types.js';

const pct = (r: number): string => `${(r * 100).toFixed(1)} %`;

function refuse(reasonCode: Refusal['reasonCode'], reason: string, candidates?: readonly number[]): Refusal {
  return { kind: 'refusal', reasonCode, reason, candidates };
}

function describe(e: ProcessEntry, snap: Snapshot): string {
  const cmd = snap.details.get(e.pid)?.cmdline.join(' ') ?? '';
  const shown = cmd.length === 0 ? e.comm : cmd.length > 80 ? `${cmd.slice(0, 79)}…` : cmd;
  return `PID ${e.pid} (${shown})`;
}

/** The action configured for this alert: by alertname first, then by target kind. */
export function actionFor(req: DecisionRequest, settings: PolicySettings): RemediationAction {
  return settings.actions.byAlertName[req.alertName] ?? settings.actions[req.target.kind];
}

function processTarget(e: ProcessEntry, snap: Snapshot): PlanTarget {
  const live = snap.processes.subtree(e.pid).filter((p) => p.state !== 'Z' && p.state !== 'X');
  const d = snap.details.get(e.pid);
  return {
    kind: 'process',
    root: { pid: e.pid, startTime: startTimeLabel(e) },
    tree: live.map((p) => ({ pid: p.pid, startTime: startTimeLabel(p) })),
    comm: e.comm,
    cmdline: d?.cmdline ?? [],
    cgroup: d?.cgroup,
  };
}

/**
 * Turns a process-tree target into the configured action's plan: stop the tree, throttle its cgroup, or
 * drop caches; refuses actions that cannot apply.
 */
function planForProcess(
  action: RemediationAction,
  e: ProcessEntry,
  treeBytes: number,
  why: string,
  snap: Snapshot,
  settings: PolicySettings,
  swapBytes = 0,
): Decision {
  const target = processTarget(e, snap);
  if (action === 'throttle') {
    const cgroup = target.kind === 'process' ? target.cgroup : undefined;
    if (cgroup === undefined || cgroup === '/') {
      return refuse('no_cgroup', `${describe(e, snap)} is in the root cgroup: there is no cgroup to throttle`);
    }
    return { kind: 'plan', action, target: { kind: 'cgroup', path: cgroup, pids: [] }, reason: `${why}; throttling its cgroup ${cgroup}`, targetBytes: treeBytes };
  }
  if (action === 'stop_cgroup') {
    const cgroup = target.kind === 'process' ? target.cgroup : undefined;
    if (cgroup === undefined || cgroup === '/') return refuse('no_cgroup', `${describe(e, snap)} is in the root cgroup: refusing to stop a cgroup`);
    return refuse('action_disabled', `stop_cgroup is configured for a process alert; name the cgroup in the alert instead (${cgroup})`);
  }
  if (action === 'drop_caches') return planDropCaches(why, settings);
  return { kind: 'plan', action: 'stop_process_tree', target, reason: why, targetBytes: treeBytes, targetSwapBytes: swapBytes };
}

function planDropCaches(why: string, settings: PolicySettings): Decision {
  if (!settings.dropCachesEnabled) return refuse('action_disabled', 'drop_caches is configured but not enabled (remediation.drop_caches.enabled)');
  return { kind: 'plan', action: 'drop_caches', target: { kind: 'host' }, reason: `${why}; dropping the page cache`, targetBytes: 0 };
}

function decideProcess(req: DecisionRequest & { target: { kind: 'process' } }, snap: Snapshot, settings: PolicySettings): Decision {
  const { pid, startTime } = req.target;
  const e = snap.processes.byPid.get(pid);
  if (e === undefined || e.state === 'Z' || e.state === 'X') return refuse('target_gone', `PID ${pid} is no longer running`);
  const live = startTimeLabel(e);
  if (live !== startTime) {
    return refuse('pid_reused', `PID ${pid} now belongs to another process (started ${live}, the alert names start time ${startTime})`);
  }
  const tree = snap.processes.subtree(pid).filter((p) => p.state !== 'Z' && p.state !== 'X');
  const prot = protectedInTree(tree, snap, settings.protect);
  if (prot) {
    const where = prot.entry.pid === pid ? describe(e, snap) : `${describe(prot.entry, snap)} in the tree of ${describe(e, snap)}`;
    return refuse('protected', `${where} is protected: ${prot.reason}`);
  }
  const { heldBytes: treeBytes, swapBytes } = heldBytes(tree, snap);
  const minBytes = settings.minVictimBytes(snap.hostMemTotalBytes);
  if (treeBytes < minBytes) {
    return refuse('below_minimum', `${describe(e, snap)} holds ${formatBytes(treeBytes)}, below the minimum of ${formatBytes(minBytes)}`);
  }
  const share = snap.hostMemTotalBytes > 0 ? treeBytes / snap.hostMemTotalBytes : 0;
  if (share < settings.recovered.processTreeShareBelow) {
    return refuse(
      'recovered',
      `${describe(e, snap)} now holds ${formatBytes(treeBytes)} (${pct(share)} of memory), below ${pct(settings.recovered.processTreeShareBelow)}: memory recovered since the alert, nothing to do`,
    );
  }
  const why = `${describe(e, snap)} and ${tree.length - 1} descendants hold ${formatBytes(treeBytes)}${swapBytes > 0 ? ` (${formatBytes(swapBytes)} of it in swap)` : ''} (${pct(share)} of memory)`;
  return planForProcess(actionFor(req, settings), e, treeBytes, why, snap, settings, swapBytes);
}

function decideCgroup(req: DecisionRequest & { target: { kind: 'cgroup' } }, snap: Snapshot, settings: PolicySettings): Decision {
  const path = req.target.path;
  const cg = snap.cgroup;
  if (path === '/') return refuse('protected', 'the root cgroup is the whole machine: refusing to act on it');
  if (cg === undefined || cg.path !== path || !cg.exists) return refuse('target_gone', `cgroup ${path} does not exist`);
  const action = actionFor(req, settings);
  if (action === 'stop_process_tree') {
    const ranked = rankVictims(snap, settings, path);
    const victim = chooseVictim(ranked, snap);
    if (!victim) return refuse('no_candidate', `no process in cgroup ${path} may be stopped`);
    return planForProcess(action, victim.entry, victim.treeBytes, `${describe(victim.entry, snap)} is the largest process tree in cgroup ${path}`, snap, settings, victim.treeSwapBytes);
  }
  for (const pid of cg.pids) {
    const e = snap.processes.byPid.get(pid);
    if (e === undefined) continue;
    const prot = protectedInTree([e], snap, settings.protect);
    if (prot) return refuse('protected', `cgroup ${path} contains ${describe(e, snap)}, which is protected: ${prot.reason}`);
  }
  const usage = cg.usageBytes ?? 0;
  const minBytes = settings.minVictimBytes(snap.hostMemTotalBytes);
  if (usage < minBytes) return refuse('below_minimum', `cgroup ${path} uses ${formatBytes(usage)}, below the minimum of ${formatBytes(minBytes)}`);
  const denominator = cg.limitBytes ?? snap.hostMemTotalBytes;
  const used = denominator > 0 ? usage / denominator : 0;
  if (used < settings.recovered.cgroupUsedBelow) {
    return refuse(
      'recovered',
      `cgroup ${path} now uses ${formatBytes(usage)} (${pct(used)} of ${cg.limitBytes !== undefined ? 'its limit' : 'memory'}), below ${pct(settings.recovered.cgroupUsedBelow)}: nothing to do`,
    );
  }
  const why = `cgroup ${path} uses ${formatBytes(usage)} (${pct(used)} of ${cg.limitBytes !== undefined ? 'its limit' : 'memory'}, ${cg.pids.length} tasks)`;
  if (action === 'drop_caches') return planDropCaches(why, settings);
  return { kind: 'plan', action, target: { kind: 'cgroup', path, pids: cg.pids }, reason: why, targetBytes: usage };
}

function decideHost(req: DecisionRequest & { target: { kind: 'host' } }, snap: Snapshot, settings: PolicySettings): Decision {
  const scope = snap.memory.scope ?? 'host';
  if (snap.memory.usedRatio < settings.recovered.hostUsedBelow) {
    return refuse(
      'recovered',
      `memory (${scope}) is at ${pct(snap.memory.usedRatio)} used, ${formatBytes(snap.memory.availableBytes)} available — below ${pct(settings.recovered.hostUsedBelow)}: it recovered since the alert, nothing to do`,
    );
  }
  const ranked = rankVictims(snap, settings, req.target.within);
  const victim = chooseVictim(ranked, snap);
  const candidates = ranked.slice(0, 5).map((c) => c.entry.pid);
  // What stopping the victim would have to free to bring memory below the "recovered" line.
  const needBytes = Math.max(0, (snap.memory.usedRatio - settings.recovered.hostUsedBelow) * snap.memory.totalBytes);
  const mayBeElsewhere = victim === undefined || victim.treeBytes < needBytes || (snap.elsewhereUpperBoundBytes ?? Number.POSITIVE_INFINITY) > victim.treeBytes;
  const elsewhere = mayBeElsewhere ? snap.elsewhere?.() : undefined;
  const where = elsewhere === undefined ? '' : describeElsewhere(elsewhere, { kernel: req.target.within === undefined });
  if (!victim) {
    const reason = noCandidateReason(snap, settings, ranked, req.target.within);
    return refuse('no_candidate', where.length > 0 ? `nothing to stop: ${where}. ${reason}` : reason, candidates);
  }
  const held = elsewhere === undefined ? 0 : heldElsewhereBytes(elsewhere, { kernel: req.target.within === undefined });
  // Weigh what the victim would free against what is held where no process owns it. The victim explains the
  // memory when stopping it brings memory below the recovered line and it holds more than half of what is held
  // elsewhere; otherwise stopping it is stopping a bystander, and a clear refusal is better.
  const explains = victim.treeBytes >= held || (victim.treeBytes >= needBytes && 2 * victim.treeBytes > held);
  if (!explains && where.length > 0) {
    return refuse(
      'not_explained',
      `nothing to stop: ${where}. The largest stoppable process tree, ${describe(victim.entry, snap)}, holds only ${formatBytes(victim.treeBytes)} ` +
        `against ${formatBytes(held)} held where no process owns it` +
        (victim.treeBytes < needBytes ? `, and ${formatBytes(needBytes)} must be freed to bring memory (${scope}) below ${pct(settings.recovered.hostUsedBelow)}` : '') +
        ': stopping it would not explain the memory. Deleting files stays a person\'s decision',
      candidates,
    );
  }
  const inSwap = victim.treeSwapBytes > 0 ? ` (${formatBytes(victim.treeSwapBytes)} of it in swap)` : '';
  const why = `memory (${scope}) is at ${pct(snap.memory.usedRatio)} used; ${describe(victim.entry, snap)} is the best victim: its tree of ${victim.treeProcesses} processes holds ${formatBytes(victim.treeBytes)}${inSwap}`;
  return planForProcess(actionFor(req, settings), victim.entry, victim.treeBytes, why, snap, settings, victim.treeSwapBytes);
}

/**
 * Why no tree may be stopped, truthfully: either no tree is that large at all, or the large ones contain
 * protected (or unverifiable) processes — named, largest first.
 */
function noCandidateReason(snap: Snapshot, settings: PolicySettings, ranked: readonly RankedCandidate[], within: string | undefined): string {
  const minBytes = settings.minVictimBytes(snap.hostMemTotalBytes);
  const sizes = liveTreeBytes(snap);
  const rankedPids = new Set(ranked.map((c) => c.entry.pid));
  const large = snap.processes.entries
    .filter((e) => !e.isKernelThread && e.state !== 'Z' && e.state !== 'X' && (sizes.get(e.pid) ?? 0) >= minBytes && !rankedPids.has(e.pid))
    .filter((e) => within === undefined || inCgroup(snap.details.get(e.pid)?.cgroup, within))
    .sort((a, b) => (sizes.get(b.pid) ?? 0) - (sizes.get(a.pid) ?? 0) || a.pid - b.pid);
  const place = within === undefined ? '' : ` in cgroup ${within}`;
  if (large.length === 0) return `no process tree${place} holds at least ${formatBytes(minBytes)} (the minimum victim size)`;
  const named = large.slice(0, 3).map((e) => `${describe(e, snap)} with ${formatBytes(sizes.get(e.pid) ?? 0)}`).join(', ');
  return `no process tree${place} of at least ${formatBytes(minBytes)} may be stopped: the ${large.length} that large contain protected or unverifiable processes (${named})`;
}

/**
 * The remediation decision (pure): for an alert or guard crossing and a fresh snapshot, a plan (action,
 * target, reason) or a refusal with its reason code. Called twice by the pipeline: once on arrival and again
 * on a re-read snapshot right before acting (earlyoom's rule).
 */
export function decide(req: DecisionRequest, snap: Snapshot, settings: PolicySettings): Decision {
  switch (req.target.kind) {
    case 'process':
      return decideProcess({ ...req, target: req.target }, snap, settings);
    case 'cgroup':
      return decideCgroup({ ...req, target: req.target }, snap, settings);
    case 'host':
      return decideHost({ ...req, target: req.target }, snap, settings);
  }
}

/** Whether two plans act on the same thing (the re-check must not switch victims silently). */
export function samePlanTarget(a: PlanTarget, b: PlanTarget): boolean {
  if (a.kind === 'process' && b.kind === 'process') return a.root.pid === b.root.pid && a.root.startTime === b.root.startTime;
  if (a.kind === 'cgroup' && b.kind === 'cgroup') return a.path === b.path;
  return a.kind === b.kind;
}
