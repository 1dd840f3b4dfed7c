import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DecisionSource } from '../notify/events.js';

/** What happened to a request, alert or guard crossing. */
export type AuditEvent = 'rejected' | 'duplicate' | 'refusal' | 'action' | 'notified' | 'protect';

/** One line of audit.jsonl: every decision, including refusals, duplicates and dry runs. */
export interface AuditInput {
  readonly source: DecisionSource;
  readonly event: AuditEvent;
  /** Machine-readable reason (refusal code, rejection reason, notification kind, action result). */
  readonly reasonCode: string;
  readonly reason: string;
  readonly alertName?: string;
  readonly key?: string;
  readonly route?: string;
  readonly [field: string]: unknown;
}

export interface AuditEntry extends AuditInput {
  readonly ts: string;
}

export interface AuditSink {
  append(entry: AuditEntry): void;
}

/**
 * Append-only JSON-lines audit log. Each entry is one write(2) on an O_APPEND descriptor, so lines from one
 * process never interleave; action entries are fsynced.
 */
export class FileAuditLog implements AuditSink {
  private fd: number | undefined;

  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o750 });
    this.fd = openSync(path, 'a', 0o640);
  }

  append(entry: AuditEntry): void {
    if (this.fd === undefined) throw new Error(`audit log ${this.path} is closed`);
    writeSync(this.fd, `${JSON.stringify(entry)}\n`);
    if (entry.event === 'action') fsyncSync(this.fd);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
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
      if (i < lines.length - 2) throw new Error(`${path}:${i + 1}: not JSON (${error instanceof Error ? error.message : String(error)})`, { cause: error });
    }
  });
  return out;
}
