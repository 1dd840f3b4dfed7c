import { readFileSync } from 'node:fs';
import type { ActionOutcome, DecisionSource, PlanTarget, ProcessIdentity, RefusalCode, RemediationAction } from '../domain/remediation.js';
import type { MemorySummary } from '../domain/summaries.js';
import { errorMessage } from '../logging/logger.js';
import { BatchedAppendFile } from './batched-append.js';

/** What happened to a request, alert or guard crossing. */
export type AuditEvent = 'rejected' | 'duplicate' | 'refusal' | 'action' | 'notified' | 'protect' | 'incident';

interface Common {
  readonly source: DecisionSource;
  /** The sentence for people. */
  readonly reason: string;
}

/** A webhook request refused before any decision (401, 413, 400, 503). */
export interface RejectedEntry extends Common {
  readonly event: 'rejected';
  /** unauthenticated, oversized, malformed, wrong_version, queue_full, … */
  readonly reasonCode: string;
  readonly route: string;
  readonly status: number;
  readonly remote?: string;
}

/** An alert or crossing ignored as a repeat. */
export interface DuplicateEntry extends Common {
  readonly event: 'duplicate';
  readonly reasonCode: 'duplicate';
  readonly alertName: string;
  readonly key: string;
  readonly route?: string;
}

/** A critical trigger that led to no action (RefusalCode, or `error` for an internal failure). */
export interface RefusalEntry extends Common {
  readonly event: 'refusal';
  readonly reasonCode: RefusalCode | 'error';
  readonly alertName: string;
  readonly key: string;
  readonly fingerprint?: string;
  readonly memory?: MemorySummary;
  /** What would have been done (actions disabled). */
  readonly plan?: { readonly action: RemediationAction; readonly target: PlanTarget };
  /** The closing line of an episode of identical refusals: how many, from when to when (the first was written when it began). */
  readonly repeated?: { readonly count: number; readonly first: string; readonly last: string };
}

/** An incident ended (issue 14): every victim in order, what each held and freed, and why it ended. */
export interface IncidentEntry extends Common {
  readonly event: 'incident';
  /** recovered, max_victims, max_reclaim, no_candidate, action_failed, refused. */
  readonly reasonCode: string;
  readonly alertName: string;
  readonly key: string;
  readonly incidentId: string;
  readonly victims: ReadonlyArray<{ readonly pid: number; readonly commandKey: string; readonly heldBytes: number; readonly swapBytes?: number; readonly freedBytes?: number; readonly exitSeconds?: number; readonly escalated?: boolean }>;
  readonly reclaimedBytes: number;
  readonly memoryBefore: MemorySummary;
  readonly memoryAfter?: MemorySummary;
}

/** One remediation attempt (derived from the pipeline's ActionRecord). Fsynced before append() returns. */
export interface ActionEntry extends Common {
  readonly event: 'action';
  readonly reasonCode: ActionOutcome;
  readonly alertName: string;
  readonly key: string;
  readonly fingerprint?: string;
  readonly action: RemediationAction;
  readonly dryRun: boolean;
  readonly target: PlanTarget;
  readonly detail?: string;
  readonly before?: Readonly<Record<string, number>>;
  readonly after?: Readonly<Record<string, number>>;
  readonly freedBytes?: number;
  readonly actionStartedAt?: string;
  readonly memoryBefore?: MemorySummary;
  readonly memoryAfter?: MemorySummary;
  readonly signalled?: readonly ProcessIdentity[];
  readonly remaining?: readonly ProcessIdentity[];
  readonly incidentId?: string;
  /** The evidence's one-line diagnosis, the capture time spent and what was not captured (issue #11). */
  readonly diagnosis?: string;
  readonly evidenceSpentMs?: number;
  readonly evidenceNotCaptured?: readonly string[];
  /** What the target held when chosen: resident + swapped, and of it in swap. */
  readonly heldBytes?: number;
  readonly swapBytes?: number;
}

/** A warning or resolved alert passed on to people. */
export interface NotifiedEntry extends Common {
  readonly event: 'notified';
  readonly reasonCode: 'warning' | 'resolved';
  readonly alertName: string;
  readonly key: string;
  readonly memory?: MemorySummary;
}

/** protect_sshd at agent start. */
export interface ProtectEntry extends Common {
  readonly event: 'protect';
  readonly reasonCode: ActionOutcome;
  readonly action?: 'protect';
  readonly dryRun?: boolean;
  readonly detail?: string;
  readonly before?: Readonly<Record<string, number>>;
  readonly after?: Readonly<Record<string, number>>;
}

/** One line of audit.jsonl as written: every decision, including refusals, duplicates and dry runs. */
export type AuditRecord = RejectedEntry | DuplicateEntry | RefusalEntry | ActionEntry | NotifiedEntry | ProtectEntry | IncidentEntry;

type KeysOf<T> = T extends unknown ? keyof T : never;
/** The type a key has in the kinds of line that carry it. */
type FieldOf<T, K extends PropertyKey> = T extends unknown ? (K extends keyof T ? T[K] : never) : never;
type SharedKey = 'source' | 'event' | 'reasonCode' | 'reason';

/**
 * One line of audit.jsonl as read back: every field any kind of line has (derived from AuditRecord, so a field
 * added to a kind is readable here too), typed, optional where some kinds lack it (tests and tooling read lines
 * without switching on `event` first).
 */
export type AuditEntry = {
  readonly ts: string;
  readonly source: DecisionSource;
  readonly event: AuditEvent;
  /** Machine-readable reason (refusal code, rejection reason, notification kind, action result). */
  readonly reasonCode: string;
  readonly reason: string;
} & { readonly [K in Exclude<KeysOf<AuditRecord>, SharedKey>]?: FieldOf<AuditRecord, K> };

export interface AuditSink {
  append(entry: AuditEntry): void;
}

/** Stamps a record with its time: what the pipeline and the receiver append. */
export function stamped(at: Date, record: AuditRecord): AuditEntry {
  return { ts: at.toISOString(), ...record };
}

/**
 * Append-only JSON-lines audit log (a BatchedAppendFile): non-action lines of one event-loop task go out in
 * one write(2) right after the task; an action line is written with everything pending before it and fsynced
 * before append() returns. A crash can lose at most the non-action lines of the current task.
 */
export class FileAuditLog implements AuditSink {
  private readonly file: BatchedAppendFile;

  constructor(readonly path: string) {
    this.file = new BatchedAppendFile(path, 'audit log');
  }

  append(entry: AuditEntry): void {
    this.file.append(JSON.stringify(entry), entry.event === 'action');
  }

  /** Writes the lines still pending (tests, shutdown). */
  flush(): void {
    this.file.flush();
  }

  close(): void {
    this.file.close();
  }
}

/** Reads an audit log (tests, incident tooling). A torn last line (crash mid-write) is skipped. */
export function readAuditLog(path: string): AuditEntry[] {
  const out: AuditEntry[] = [];
  const lines = readFileSync(path, 'utf8').split('\n');
  lines.forEach((line, i) => {
    if (line.length === 0) return;
    try {
      out.push(JSON.parse(line) as AuditEntry);
    } catch (error) {
      if (i < lines.length - 2) throw new Error(`${path}:${i + 1}: not JSON (${errorMessage(error)})`, { cause: error });
    }
  });
  return out;
}
