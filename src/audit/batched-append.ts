import { closeSync, fsyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { errorMessage } from '../logging/logger.js';

/**
 * An append-only JSON-lines file on an O_APPEND descriptor, shared by the audit log and the idempotency state.
 * Lines appended during one task of the event loop are written together, in order, by one write(2) in a
 * microtask right after that task's synchronous code — before any code awaiting it resumes. A durable line
 * first writes what is pending, then itself, and is fsynced before append() returns. A failed deferred write
 * is thrown by the next append() or close(), never dropped silently.
 */
export class BatchedAppendFile {
  private fd: number | undefined;
  private pending: string[] = [];
  private scheduled = false;
  private failure: Error | undefined;

  /** `what` names the file in errors ("audit log", "idempotency state"). */
  constructor(
    readonly path: string,
    private readonly what: string,
  ) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o750 });
    this.fd = openSync(path, 'a', 0o640);
  }

  append(line: string, durable: boolean): void {
    if (this.fd === undefined) throw new Error(`${this.what} ${this.path} is closed`);
    this.throwFailure();
    this.pending.push(line.endsWith('\n') ? line : `${line}\n`);
    if (durable) {
      this.flush();
      fsyncSync(this.fd);
    } else if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(() => this.flushDeferred());
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
      this.failure = new Error(`${this.what} ${this.path}: write failed: ${errorMessage(error)}`, { cause: error });
    }
  }

  private throwFailure(): void {
    if (this.failure === undefined) return;
    const failure = this.failure;
    this.failure = undefined;
    throw failure;
  }
}
