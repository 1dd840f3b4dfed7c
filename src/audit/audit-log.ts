import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DecisionSource } from '../domain/remediation.js';

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
 * Append-only JSON-lines audit log on an O_APPEND descriptor. Non-action lines appended during one task of the
 * event loop (one request, one decision of the worker) are written together, in append order, by one write(2)
 * in a microtask right after that task's synchronous code — before any code awaiting it resumes, so a reader
 * that awaited the decision sees its lines. An action entry first writes what is pending, then itself, and is
 * fsynced before append() returns: actions stay durable. A crash of the process can lose at most the
 * non-action lines of the current task (those were never fsynced anyway). A failed deferred write is thrown
 * by the next append() or close(), never dropped silently.
 */
export class FileAuditLog implements AuditSink {
  private fd: number | undefined;
  private pending: string[] = [];
  private scheduled = false;
  private failure: Error | undefined;

  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o750 });
    this.fd = openSync(path, 'a', 0o640);
  }

  append(entry: AuditEntry): void {
    if (this.fd === undefined) throw new Error(`audit log ${this.path} is closed`);
    this.throwFailure();
    this.pending.push(`${JSON.stringify(entry)}\n`);
    if (entry.event === 'action') {
      this.flush();
      fsyncSync(this.fd);
    } else {
      if (!this.scheduled) {
        this.scheduled = true;
        queueMicrotask(() => this.flushDeferred());
      }
    }
  }

  /** Writes the lines still pending (tests, shutdown). */
  flush(): void {
    if (this.pending.length === 0 || this.fd === undefined) return;
    const text = this.pending.length === 1 ? (this.pending[0] as string) : this.pending.join('');
    this.pending = [];
    writeSync(this.fd, text);
  }

  close(): void {
    try {
      this.flush();
      this.throwFailure();
    } finally {
      if (this.fd !== undefined) closeSync(this.fd);
      this.fd = undefined;
    }
  }

  private flushDeferred(): void {
    this.scheduled = false;
    try {
      this.flush();
    } catch (error) {
      // Kept for the next append()/close() to throw: a deferred write has no caller to report to.
      this.failure = new Error(`audit log ${this.path}: write failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  }

  private throwFailure(): void {
    if (this.failure === undefined) return;
    const failure = this.failure;
    this.failure = undefined;
    throw failure;
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
