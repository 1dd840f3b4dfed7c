import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { errorMessage, type Logger } from '../logging/logger.js';
import { NOTIFICATION_KINDS, type Notification } from './events.js';

/**
 * The durable outbox: one JSON file per message (msg-<seq>.json, written to a temporary file, fsynced and
 * renamed, so a message is either wholly there or not at all) and one cursor file per notifier
 * (cursor-<name>.json: the last sequence number it is done with). A message file is removed once every
 * notifier is past it. Delivery is at-least-once: a crash between sending and writing the cursor re-sends that
 * one message, which carries its notification id so the duplicate is recognisable.
 *
 * One process owns a state directory at a time.
 */
export interface OutboxRecord {
  readonly seq: number;
  /** The notification id. */
  readonly id: string;
  /** When publish() stored it (epoch ms): the give-up age counts from here, across restarts. */
  readonly publishedAtMs: number;
  readonly notification: Notification;
}

export interface OutboxOptions {
  readonly dir: string;
  /** Notifier names; each has its own cursor and sees every message in order. */
  readonly consumers: readonly string[];
  readonly now: () => number;
  readonly logger: Logger;
  /** Told when a write to disk failed (the message is kept in memory and still delivered). */
  readonly onWriteError?: (what: 'message' | 'cursor' | 'remove') => void;
}

const MESSAGE_FILE = /^msg-(\d{16})\.json$/;
const CURSOR_FILE = /^cursor-([a-z0-9_-]+)\.json$/;
const CONSUMER_NAME = /^[a-z0-9_-]+$/;

function messageFile(seq: number): string {
  return `msg-${String(seq).padStart(16, '0')}.json`;
}

function cursorFile(name: string): string {
  return `cursor-${name}.json`;
}

/** Writes `data` to dir/name atomically and durably: temp file, fsync, rename, fsync of the directory. */
function writeDurably(dir: string, name: string, data: string): void {
  const tmp = join(dir, `.${name}.tmp`);
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, join(dir, name));
  const dfd = openSync(dir, 'r');
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
}

function isRecord(value: unknown): value is OutboxRecord {
  if (value === null || typeof value !== 'object') return false;
  const r = value as Record<string, unknown>;
  const n = r.notification as Record<string, unknown> | null | undefined;
  return (
    typeof r.seq === 'number' &&
    typeof r.id === 'string' &&
    typeof r.publishedAtMs === 'number' &&
    n !== null &&
    typeof n === 'object' &&
    typeof n.kind === 'string' &&
    NOTIFICATION_KINDS.has(n.kind) &&
    n.id === r.id
  );
}

export class Outbox {
  /** Undelivered-by-someone messages, ascending seq. */
  private readonly records: OutboxRecord[] = [];
  private readonly cursors = new Map<string, number>();
  private nextSeq = 1;

  private constructor(private readonly options: OutboxOptions) {}

  /** Opens (creating) the directory and loads what a previous process left. Synchronous. */
  static open(options: OutboxOptions): Outbox {
    for (const name of options.consumers) {
      if (!CONSUMER_NAME.test(name)) throw new Error(`notifier name "${name}" must match ${String(CONSUMER_NAME)}`);
    }
    mkdirSync(options.dir, { recursive: true, mode: 0o700 });
    const outbox = new Outbox(options);
    outbox.load();
    return outbox;
  }

  private load(): void {
    const { dir, logger } = this.options;
    let highest = 0;
    for (const entry of readdirSync(dir).sort()) {
      const path = join(dir, entry);
      if (entry.endsWith('.tmp')) {
        // A write that never completed: publish() had not returned, so nothing was promised.
        logger.warn('outbox: removing an incomplete write', { file: path });
        unlinkSync(path);
        continue;
      }
      const cursor = CURSOR_FILE.exec(entry);
      if (cursor) {
        const seq = this.readCursor(path);
        if (seq !== undefined) {
          highest = Math.max(highest, seq);
          if (this.options.consumers.includes(cursor[1] ?? '')) this.cursors.set(cursor[1] ?? '', seq);
        }
        continue;
      }
      const msg = MESSAGE_FILE.exec(entry);
      if (!msg) continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(readFileSync(path, 'utf8'));
      } catch (error) {
        parsed = { error: errorMessage(error) };
      }
      if (!isRecord(parsed) || parsed.seq !== Number(msg[1])) {
        logger.error('outbox: unreadable message file set aside', { file: path, moved_to: `${path}.corrupt` });
        renameSync(path, `${path}.corrupt`);
        continue;
      }
      this.records.push(parsed);
      highest = Math.max(highest, parsed.seq);
    }
    this.records.sort((a, b) => a.seq - b.seq);
    this.nextSeq = highest + 1;
    const oldest = this.records[0]?.seq ?? this.nextSeq;
    for (const name of this.options.consumers) {
      // A notifier with no cursor yet (newly configured) starts at the oldest message still stored.
      if (!this.cursors.has(name)) this.cursors.set(name, oldest - 1);
    }
    this.compact();
  }

  private readCursor(path: string): number | undefined {
    try {
      const value = (JSON.parse(readFileSync(path, 'utf8')) as { seq?: unknown }).seq;
      if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return value;
      this.options.logger.error('outbox: cursor file without a valid seq ignored', { file: path });
    } catch (error) {
      this.options.logger.error('outbox: unreadable cursor file ignored', { file: path, error: errorMessage(error) });
    }
    return undefined;
  }

  /**
   * Stores a notification durably (fsync) and returns its record. A failing disk does not lose it for this
   * process: it is kept in memory, delivered, and the failure is logged and counted.
   */
  append(notification: Notification): OutboxRecord {
    const record: OutboxRecord = { seq: this.nextSeq, id: notification.id, publishedAtMs: this.options.now(), notification };
    this.nextSeq += 1;
    try {
      writeDurably(this.options.dir, messageFile(record.seq), `${JSON.stringify(record)}\n`);
    } catch (error) {
      this.options.logger.error('outbox: could not store a notification on disk; it is kept in memory only', {
        notification_id: record.id,
        dir: this.options.dir,
        error: errorMessage(error),
      });
      this.options.onWriteError?.('message');
    }
    this.records.push(record);
    return record;
  }

  /** The oldest message `consumer` has not finished with. */
  next(consumer: string): OutboxRecord | undefined {
    const cursor = this.cursors.get(consumer) ?? 0;
    return this.records.find((r) => r.seq > cursor);
  }

  /** `consumer` is done with `seq` (delivered or dropped): recorded durably, then delivered files are removed. */
  ack(consumer: string, seq: number): void {
    this.cursors.set(consumer, Math.max(seq, this.cursors.get(consumer) ?? 0));
    try {
      writeDurably(this.options.dir, cursorFile(consumer), `${JSON.stringify({ seq })}\n`);
    } catch (error) {
      this.options.logger.error('outbox: could not record delivery progress; a restart may re-send', {
        notifier: consumer,
        seq,
        error: errorMessage(error),
      });
      this.options.onWriteError?.('cursor');
    }
    this.compact();
  }

  /** Messages not yet finished by every notifier. */
  depth(): number {
    return this.records.length;
  }

  /** Messages `consumer` has not finished with. */
  pending(consumer: string): number {
    const cursor = this.cursors.get(consumer) ?? 0;
    return this.records.filter((r) => r.seq > cursor).length;
  }

  private compact(): void {
    if (this.options.consumers.length === 0) return;
    const done = Math.min(...this.options.consumers.map((c) => this.cursors.get(c) ?? 0));
    while (this.records.length > 0 && (this.records[0]?.seq ?? Infinity) <= done) {
      const record = this.records.shift();
      if (record === undefined) break;
      try {
        unlinkSync(join(this.options.dir, messageFile(record.seq)));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
        this.options.logger.error('outbox: could not remove a delivered message', { seq: record.seq, error: errorMessage(error) });
        this.options.onWriteError?.('remove');
      }
    }
  }
}
