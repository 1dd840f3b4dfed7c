import type { DecisionSource } from '../domain/remediation.js';
import type { MemorySummary } from '../domain/summaries.js';
import type { PolicySettings, RefusalCode } from '../policy/types.js';
import type { IncidentEnd, IncidentRecord, IncidentVictim } from '../incidents/types.js';
import type { ActionRecord } from './action-record.js';
import type { CriticalTrigger } from './trigger.js';

export type { IncidentEnd, IncidentVictim } from '../incidents/types.js';

/**
 * The incident, not the action, is the unit (issue 14): while the guarded memory (host or watched cgroup)
 * stays past its line, the pipeline acts again — one victim at a time, each after the previous one has exited
 * and its memory was seen freed (or a settle time passed), on a fresh read and a fresh ranking — until memory
 * is back under the recovered line. Everything here is pure: the pipeline keeps one IncidentBook.
 *
 *   (none) ──critical──▶ open ──victim──▶ open ──victim──▶ … ──▶ closed (limit | no_candidate | failed)
 *                                                │
 *                           memory under the recovered line
 *                                                ▼
 *                                     held ──close_after passes──▶ closed (recovered)
 *                                       │
 *                past the line again within close_after: the same incident goes on (next victim appended)
 *
 * Held: memory came back, but jobs that are still growing may take it past the line again (issue 14's guest:
 * six victims fell into four incidents). For `close_after` after recovery the incident stays open: a new
 * crossing of the same scope continues it — same id, same report, victims appended in order, one notification
 * thread — and late Alertmanager alerts for the condition stay duplicates. Its report, audit line and summary
 * are written when it finally closes.
 *
 * The incident's limits (victims, reclaimed memory) replace the Alertmanager path's rate limit and cooldown
 * while it is open; those still apply to a new incident the receiver would open.
 */

export interface Incident {
  readonly id: string;
  /** What is guarded: "host" or a cgroup path (see conditionScope). */
  readonly scope: string;
  readonly source: DecisionSource;
  readonly alertName: string;
  readonly fingerprint?: string;
  /** The first trigger's key (its audit and idempotency key). */
  readonly key: string;
  readonly critical: Date;
  readonly openedAt: Date;
  readonly memoryBefore: MemorySummary;
  readonly victims: readonly IncidentVictim[];
  readonly reclaimedBytes: number;
  readonly lastMemory?: MemorySummary;
  /** The first victim's step: the report's root cause. */
  readonly first?: ActionRecord;
  /**
   * Memory is back under the recovered line (since `at`): the incident is held open for close_after, so a
   * re-crossing continues it. `jobs`: the victims' commands still running then (the report's, if it closes
   * from here).
   */
  readonly recovered?: { readonly at: Date; readonly reason: string; readonly memory: MemorySummary; readonly jobs: IncidentJobs };
  /** How often memory went past the line again while the incident was held (each continued it). */
  readonly recrossings?: number;
  /**
   * Victims and reclaimed bytes when the last re-crossing resumed the incident: max_reclaim counts from there
   * (memory was seen back under the recovered line, so what was reclaimed before was not "held elsewhere").
   */
  readonly resumedFrom?: { readonly victims: number; readonly reclaimedBytes: number };
  readonly closed?: { readonly at: Date; readonly because: IncidentEnd; readonly reason: string };
}

/** Victims grouped by command and user with how many trees of that command still run (the report's "jobs"). */
export type IncidentJobs = NonNullable<IncidentRecord['jobs']>;

/** The condition a critical trigger is about: a host alert (or the guard on the host) → "host"; a watched or named cgroup → its path. */
export function conditionScope(t: CriticalTrigger): string | undefined {
  if (!t.target.ok) return undefined;
  const target = t.target.target;
  if (target.kind === 'host') return t.scope ?? target.within ?? 'host';
  if (target.kind === 'cgroup') return target.path;
  return undefined;
}

export function openIncident(id: string, t: CriticalTrigger, scope: string, at: Date, memory: MemorySummary): Incident {
  return {
    id,
    scope,
    source: t.source,
    alertName: t.alertName,
    ...(t.fingerprint !== undefined ? { fingerprint: t.fingerprint } : {}),
    key: t.key,
    critical: t.startsAt,
    openedAt: at,
    memoryBefore: memory,
    victims: [],
    reclaimedBytes: 0,
  };
}

/** Before another victim: the incident's bounds (pure). */
export function incidentLimit(
  inc: Incident,
  next: { readonly heldBytes: number },
  totalBytes: number,
  limits: PolicySettings['incident'],
): { readonly code: Extract<RefusalCode, 'incident_max_victims' | 'incident_max_reclaim'>; readonly because: IncidentEnd; readonly reason: string } | undefined {
  if (inc.victims.length >= limits.maxVictims) {
    return {
      code: 'incident_max_victims',
      because: 'max_victims',
      reason: `incident ${inc.id} has stopped ${inc.victims.length} victims already (remediation.incident.max_victims: ${limits.maxVictims})`,
    };
  }
  const max = limits.maxReclaimBytes(totalBytes);
  // Since memory was last seen under the recovered line (the incident's start, or its last re-crossing).
  const victims = inc.victims.length - (inc.resumedFrom?.victims ?? 0);
  const reclaimed = inc.reclaimedBytes - (inc.resumedFrom?.reclaimedBytes ?? 0);
  if (victims > 0 && reclaimed + next.heldBytes > max) {
    const since = inc.resumedFrom === undefined ? '' : ' since memory last went past the line again';
    return {
      code: 'incident_max_reclaim',
      because: 'max_reclaim',
      reason: `incident ${inc.id} has reclaimed ${reclaimed} bytes${since}; the next victim's ${next.heldBytes} would exceed remediation.incident.max_reclaim (${max} bytes)`,
    };
  }
  return undefined;
}

/** Memory is back under the recovered line: the incident is held open (not closed) for close_after. */
export function holdIncident(inc: Incident, at: Date, reason: string, memory: MemorySummary, jobs: IncidentJobs): Incident {
  return { ...inc, recovered: { at, reason, memory, jobs }, lastMemory: memory };
}

/** When a held incident closes: close_after after memory came back (undefined: not held). */
export function heldUntil(inc: Incident, closeAfterMs: number): Date | undefined {
  if (inc.closed !== undefined || inc.recovered === undefined) return undefined;
  return new Date(inc.recovered.at.getTime() + closeAfterMs);
}

/** Whether a held incident's hold is over at `now` (it closes as recovered). */
export function holdExpired(inc: Incident, now: Date, closeAfterMs: number): boolean {
  const until = heldUntil(inc, closeAfterMs);
  return until !== undefined && now.getTime() >= until.getTime();
}

/**
 * Whether a critical trigger continues a held incident: the same scope past the line again within close_after —
 * the guard's next crossing, or the same alert (fingerprint) repeated for a receiver's incident. A guard
 * crossing continues the guard's incident; another source's held incident is closed first (a new one opens).
 */
export function continuesHeld(inc: Incident, t: CriticalTrigger, now: Date, closeAfterMs: number): boolean {
  if (inc.closed !== undefined || inc.recovered === undefined || holdExpired(inc, now, closeAfterMs)) return false;
  if (conditionScope(t) !== inc.scope) return false;
  if (t.source === 'guard') return inc.source === 'guard';
  return inc.fingerprint !== undefined && inc.fingerprint === t.fingerprint;
}

/** Past the line again while held: the incident goes on (the next victim is appended). */
export function resumeIncident(inc: Incident): Incident {
  const { recovered: _recovered, ...rest } = inc;
  return { ...rest, recrossings: (inc.recrossings ?? 0) + 1, resumedFrom: { victims: inc.victims.length, reclaimedBytes: inc.reclaimedBytes } };
}

/** The hold is over: the incident closes as recovered, at `at` (its end), with what was seen at recovery. */
export function closeHeld(inc: Incident, at: Date, closeAfterMs: number): Incident {
  const r = inc.recovered;
  if (r === undefined) return inc;
  const held = Math.round((at.getTime() - r.at.getTime()) / 1000);
  const again = inc.recrossings ?? 0;
  const reason = `${r.reason}; it stayed there for ${held} s (remediation.incident.close_after: ${Math.round(closeAfterMs / 1000)} s)${again > 0 ? ` after ${again} re-crossing${again === 1 ? '' : 's'} of the line` : ''}`;
  return { ...inc, lastMemory: r.memory, closed: { at, because: 'recovered', reason } };
}

export function withVictim(inc: Incident, v: IncidentVictim, memoryAfter: MemorySummary): Incident {
  return { ...inc, victims: [...inc.victims, v], reclaimedBytes: inc.reclaimedBytes + (v.freedBytes ?? v.heldBytes), lastMemory: memoryAfter };
}

export function closeIncident(inc: Incident, at: Date, because: IncidentEnd, reason: string, memory?: MemorySummary): Incident {
  return { ...inc, closed: { at, because, reason }, ...(memory ? { lastMemory: memory } : {}) };
}

/**
 * Jobs, not only trees: victims grouped by (command, user), with how many trees of the same command still
 * run in the last snapshot (`stillRunning` maps "uid\0commandKey" → count).
 */
export function groupVictims(victims: readonly IncidentVictim[], stillRunning: ReadonlyMap<string, number>): Array<{ commandKey: string; uid?: number; victims: number; heldBytes: number; stillRunning: number }> {
  const groups = new Map<string, { commandKey: string; uid?: number; victims: number; heldBytes: number; stillRunning: number }>();
  for (const v of victims) {
    const k = jobKey(v.commandKey, v.uid);
    const g = groups.get(k) ?? { commandKey: v.commandKey, ...(v.uid !== undefined ? { uid: v.uid } : {}), victims: 0, heldBytes: 0, stillRunning: stillRunning.get(k) ?? 0 };
    g.victims += 1;
    g.heldBytes += v.heldBytes;
    groups.set(k, g);
  }
  return [...groups.values()];
}

export function jobKey(commandKey: string, uid: number | undefined): string {
  return `${uid ?? '?'}\u0000${commandKey}`;
}

/**
 * Whether a receiver's critical trigger for a condition the guard is (or was just) handling is a late copy of
 * it: while the guard's incident on the same scope is open, or when the alert began before that incident
 * closed (Alertmanager needs `for:` and its group waits; the guard acted first).
 */
export function lateAlertOf(t: CriticalTrigger, guardIncident: Incident | undefined): boolean {
  if (t.source !== 'receiver' || guardIncident === undefined || guardIncident.source !== 'guard') return false;
  if (guardIncident.closed === undefined) return true;
  return t.startsAt.getTime() <= guardIncident.closed.at.getTime();
}

/** The open (and the last closed) incident per scope. Owned by one pipeline; no module state. */
export class IncidentBook {
  private readonly byScope = new Map<string, Incident>();

  get(scope: string): Incident | undefined {
    return this.byScope.get(scope);
  }

  /** The scope's incident unless it is closed (a held one is open). */
  open(scope: string): Incident | undefined {
    const inc = this.byScope.get(scope);
    return inc?.closed === undefined ? inc : undefined;
  }

  /** Incidents held after recovery (close_after not over yet, or not yet checked). */
  held(): Incident[] {
    return [...this.byScope.values()].filter((i) => i.closed === undefined && i.recovered !== undefined);
  }

  /** Open incidents kept open by this alert (the receiver's incidents). */
  openByFingerprint(fingerprint: string | undefined): Incident[] {
    if (fingerprint === undefined) return [];
    return [...this.byScope.values()].filter((i) => i.closed === undefined && i.fingerprint === fingerprint);
  }

  set(inc: Incident): void {
    this.byScope.set(inc.scope, inc);
  }
}
