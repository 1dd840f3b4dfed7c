import type { DecisionSource } from '../domain/remediation.js';
import type { MemorySummary } from '../domain/summaries.js';
import type { PolicySettings, RefusalCode } from '../policy/types.js';
import type { IncidentEnd, IncidentVictim } from '../incidents/types.js';
import type { ActionRecord } from './action-record.js';
import type { CriticalTrigger } from './trigger.js';

export type { IncidentEnd, IncidentVictim } from '../incidents/types.js';

/**
 * The incident, not the action, is the unit (issue 14): while the guarded memory (host or watched cgroup)
 * stays past its line, the pipeline acts again — one victim at a time, each after the previous one has exited
 * and its memory was seen freed (or a settle time passed), on a fresh read and a fresh ranking — until memory
 * is back under the recovered line. Everything here is pure: the pipeline keeps one IncidentBook.
 *
 *   (none) ──critical──▶ open ──victim──▶ open ──victim──▶ … ──▶ closed (recovered | limit | no_candidate | failed)
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
  readonly closed?: { readonly at: Date; readonly because: IncidentEnd; readonly reason: string };
}

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
  if (inc.victims.length > 0 && inc.reclaimedBytes + next.heldBytes > max) {
    return {
      code: 'incident_max_reclaim',
      because: 'max_reclaim',
      reason: `incident ${inc.id} has reclaimed ${inc.reclaimedBytes} bytes; the next victim's ${next.heldBytes} would exceed remediation.incident.max_reclaim (${max} bytes)`,
    };
  }
  return undefined;
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

  open(scope: string): Incident | undefined {
    const inc = this.byScope.get(scope);
    return inc?.closed === undefined ? inc : undefined;
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
