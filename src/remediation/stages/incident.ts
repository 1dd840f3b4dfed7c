import type { IncidentEntry } from '../../audit/audit-log.js';
import { commandKey } from '../../incidents/render.js';
import type { IncidentRecord } from '../../incidents/types.js';
import type { IncidentNotification } from '../../notify/events.js';
import type { Snapshot } from '../../policy/types.js';
import { startTimeLabel } from '../../procfs/process-table.js';
import type { ActionRecord } from '../action-record.js';
import { groupVictims, jobKey, type Incident, type IncidentVictim } from '../incident.js';
import { notificationId } from '../action-record.js';
import { summarizeProcess } from '../summaries.js';
import type { Origin } from './notify.js';

/**
 * The incident's pieces derived from its steps (pure): a victim from a step's ActionRecord, the trees of the
 * same command still running, and the one report, audit line and summary notification of an ended incident.
 */

/** A victim from the step that stopped it (the snapshot is the re-check's, before the action). */
export function victimOf(r: ActionRecord, before: Snapshot): IncidentVictim | undefined {
  if (r.plan.target.kind !== 'process') return undefined;
  const t = r.plan.target;
  const summary = summarizeProcess(t.root.pid, before);
  const uid = before.details.get(t.root.pid)?.uid;
  const ran = r.ending.kind === 'ran' ? r.ending.report : undefined;
  const allGone = ran !== undefined && ran.remaining.length === 0 && !r.dryRun;
  const exitedAt = allGone ? new Date(r.startedAt.getTime() + ran.durationSeconds * 1000) : undefined;
  return {
    pid: t.root.pid,
    startTime: t.root.startTime,
    comm: t.comm,
    cmdline: summary?.cmdline ?? t.cmdline.join(' '),
    commandKey: commandKey(t.comm, t.cmdline),
    ...(uid !== undefined ? { uid } : {}),
    heldBytes: r.plan.targetBytes,
    swapBytes: r.plan.targetSwapBytes ?? 0,
    processes: t.tree.length,
    actionAt: r.startedAt.toISOString(),
    result: r.ending.kind === 'ran' ? r.ending.report.result : 'error',
    // What the victim held when chosen (resident + swap) is what its exit gives back; the action's own count
    // (resident only, measured before the signal) when some of it survived.
    ...(ran !== undefined ? { freedBytes: allGone ? Math.max(r.plan.targetBytes, ran.freedBytes ?? 0) : (ran.freedBytes ?? 0) } : {}),
    ...(exitedAt !== undefined ? { exitedAt: exitedAt.toISOString(), exitSeconds: Math.round((ran?.durationSeconds ?? 0) * 100) / 100 } : {}),
    ...(ran?.escalated ? { escalated: true } : {}),
    auditKey: r.trigger.key,
  };
}

/**
 * Trees of each victim's command (same command key, same user) still running: processes whose parent is not
 * of the same command. Only processes with a victim's comm have their command line read (cheap on a big host).
 */
export function stillRunning(snap: Snapshot, victims: readonly IncidentVictim[]): Map<string, number> {
  const counts = new Map<string, number>();
  const wanted = new Set(victims.map((v) => jobKey(v.commandKey, v.uid)));
  const comms = new Set(victims.map((v) => v.comm));
  const keyOf = (pid: number): string | undefined => {
    const e = snap.processes.byPid.get(pid);
    if (e === undefined || !comms.has(e.comm) || e.state === 'Z' || e.state === 'X') return undefined;
    const d = snap.details.get(pid);
    if (d === undefined) return undefined;
    return jobKey(commandKey(e.comm, d.cmdline), d.uid);
  };
  for (const e of snap.processes.entries) {
    const k = keyOf(e.pid);
    if (k === undefined || !wanted.has(k)) continue;
    if (keyOf(e.ppid) === k) continue; // a child of a tree already counted
    if (victims.some((v) => v.pid === e.pid && v.startTime === startTimeLabel(e))) continue;
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return counts;
}

export function incidentJobs(inc: Incident, snap: Snapshot): NonNullable<IncidentRecord['jobs']> {
  return groupVictims(inc.victims, stillRunning(snap, inc.victims));
}

function endSentence(inc: Incident): string {
  const c = inc.closed;
  const n = inc.victims.length;
  const what = `${n} victim${n === 1 ? '' : 's'} stopped one after another`;
  return c === undefined ? what : `${what}; ended: ${c.reason}`;
}

/** The incident's one report: the first victim's step as the root cause, every victim in order. */
export function incidentReport(inc: Incident, first: ActionRecord, jobs: NonNullable<IncidentRecord['jobs']>, machine: string | undefined): IncidentRecord {
  const ran = first.ending.kind === 'ran' ? first.ending.report : undefined;
  // Recovery: when memory came back for good (the start of the hold it closed from); ended: when it closed.
  const recoveredAt = inc.closed?.because === 'recovered' ? (inc.recovered?.at ?? inc.closed.at) : undefined;
  return {
    id: inc.id,
    host: first.host,
    ...(machine ? { machine } : {}),
    source: inc.source,
    alertName: inc.alertName,
    action: first.plan.action,
    dryRun: first.dryRun,
    result: inc.victims.every((v) => v.result === 'success') ? 'success' : inc.victims.some((v) => v.result === 'success') ? 'partial' : (ran?.result ?? 'failed'),
    reason: first.plan.reason,
    detail: endSentence(inc),
    target: first.target,
    commandKey: inc.victims[0]?.commandKey,
    timeline: {
      firstWarning: first.firstWarning?.toISOString(),
      critical: inc.critical.toISOString(),
      action: first.startedAt.toISOString(),
      recovery: recoveredAt?.toISOString(),
      ...(inc.closed ? { ended: inc.closed.at.toISOString() } : {}),
    },
    memoryBefore: inc.memoryBefore,
    memoryAfter: inc.lastMemory,
    actionBefore: ran?.before ?? {},
    actionAfter: ran?.after ?? {},
    freedBytes: inc.reclaimedBytes,
    ...(recoveredAt ? { timeToResolutionSeconds: Math.max(0, (recoveredAt.getTime() - inc.critical.getTime()) / 1000) } : {}),
    ...(inc.recrossings !== undefined && inc.recrossings > 0 ? { recrossings: inc.recrossings } : {}),
    // What was captured about the first victim before it was stopped (issue #11), and where memory no process
    // owns was then.
    ...(first.evidence ? { evidence: first.evidence } : {}),
    ...(first.diagnosis !== undefined ? { diagnosis: first.diagnosis } : {}),
    ...(first.memoryElsewhere !== undefined ? { memoryElsewhere: first.memoryElsewhere } : {}),
    victims: inc.victims,
    reclaimedBytes: inc.reclaimedBytes,
    ...(inc.closed ? { closedBecause: inc.closed.because } : {}),
    jobs,
  };
}

export function incidentAuditEntry(inc: Incident): Omit<IncidentEntry, never> {
  return {
    event: 'incident',
    source: inc.source,
    reasonCode: inc.closed?.because ?? 'open',
    reason: endSentence(inc),
    alertName: inc.alertName,
    key: inc.key,
    incidentId: inc.id,
    victims: inc.victims.map((v) => ({
      pid: v.pid,
      commandKey: v.commandKey,
      heldBytes: v.heldBytes,
      ...(v.swapBytes !== undefined ? { swapBytes: v.swapBytes } : {}),
      ...(v.freedBytes !== undefined ? { freedBytes: v.freedBytes } : {}),
      ...(v.exitSeconds !== undefined ? { exitSeconds: v.exitSeconds } : {}),
      ...(v.escalated ? { escalated: true } : {}),
    })),
    reclaimedBytes: inc.reclaimedBytes,
    memoryBefore: inc.memoryBefore,
    ...(inc.lastMemory ? { memoryAfter: inc.lastMemory } : {}),
  };
}

export function incidentNotification(o: Origin, inc: Incident, jobs: NonNullable<IncidentRecord['jobs']>, reportPath: string | undefined): IncidentNotification {
  const at = inc.closed?.at ?? inc.openedAt;
  return {
    kind: 'incident',
    id: notificationId(o.host, 'incident', inc.key),
    host: o.host,
    ...(o.machine ? { machine: o.machine } : {}),
    at: at.toISOString(),
    alertName: inc.alertName,
    source: inc.source,
    incidentId: inc.id,
    closedBecause: inc.closed?.because ?? 'open',
    reason: endSentence(inc),
    victims: inc.victims.map((v) => ({
      pid: v.pid,
      cmdline: v.cmdline,
      heldBytes: v.heldBytes,
      ...(v.swapBytes !== undefined ? { swapBytes: v.swapBytes } : {}),
      ...(v.freedBytes !== undefined ? { freedBytes: v.freedBytes } : {}),
      ...(v.exitSeconds !== undefined ? { exitSeconds: v.exitSeconds } : {}),
      ...(v.escalated ? { escalated: true } : {}),
    })),
    jobs: jobs.map((j) => ({ commandKey: j.commandKey, victims: j.victims, stillRunning: j.stillRunning })),
    reclaimedBytes: inc.reclaimedBytes,
    memoryBefore: inc.memoryBefore,
    ...(inc.lastMemory ? { memoryAfter: inc.lastMemory } : {}),
    durationSeconds: Math.max(0, (at.getTime() - inc.critical.getTime()) / 1000),
    ...(reportPath ? { incidentReportPath: reportPath } : {}),
  };
}
