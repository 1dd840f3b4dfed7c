import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { BatchedAppendFile } from '../audit/batched-append.js';
import { errorCode } from '../procfs/file-reader.js';

/**
 * What has been done for one trigger key (fingerprint + startsAt for alerts, the crossing for the guard):
 * in_progress (claimed right before acting), acted, dry_run, refused, notified.
 */
export type KeyState = 'in_progress' | 'acted' | 'dry_run' | 'refused' | 'notified';

export interface KeyRecord {
  readonly key: string;
  readonly state: KeyState;
  /** Epoch ms of the record. */
  readonly at: number;
  /** A real action (counted by the rate limit). */
  readonly counted?: boolean;
  /** For warnings: the alert's startsAt (epoch ms) and name (the incident timeline's "first warning"). */
  readonly startsAt?: number;
  readonly alertName?: string;
}

/**
 * The persisted idempotency state: a JSON-lines file replayed at start (last record per key wins), records
 * older than the retention dropped and the file compacted. Claims before an action are fsynced, so an agent
 * that crashes mid-action does not act again on the same alert after a restart (at most once).
 *
 * Durable records (the claim before an action and the result after it) are written and fsynced before set()
 * returns, after everything pending. The others (refused, notified) are written together with the rest of
 * the same event-loop task in one write(2) from a microtask, by the same BatchedAppendFile as the audit log: one
 * write per task instead of one per alert under a flood. The in-memory state is updated at once either way.
 */
export class IdempotencyStore {
  private readonly records = new Map<string, KeyRecord>();
  private readonly file: BatchedAppendFile;

  constructor(
    readonly path: string,
    nowMs: number,
    private readonly retentionMs: number,
  ) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o750 });
    let text = '';
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw error;
    }
    for (const line of text.split('\n')) {
      if (line.length === 0) continue;
      let rec: KeyRecord;
      try {
        rec = JSON.parse(line) as KeyRecord;
      } catch {
        // A torn line from a crash mid-write: the claim it held was not complete; skip it.
        continue;
      }
      if (typeof rec.key === 'string' && typeof rec.at === 'number') this.records.set(rec.key, rec);
    }
    for (const [key, rec] of this.records) if (nowMs - rec.at > retentionMs) this.records.delete(key);
    const tmp = `${path}.tmp`;
    writeFileSync(tmp, [...this.records.values()].map((r) => `${JSON.stringify(r)}\n`).join(''), { mode: 0o640 });
    renameSync(tmp, path);
    this.file = new BatchedAppendFile(path, 'idempotency state');
  }

  get(key: string): KeyRecord | undefined {
    return this.records.get(key);
  }

  set(record: KeyRecord, durable = false): void {
    this.file.append(JSON.stringify(record), durable);
    this.records.set(record.key, record);
  }

  /** Writes the records still pending. */
  flush(): void {
    this.file.flush();
  }

  /** Epoch ms of the real actions still within the retention (the rate limit's history). */
  actionTimes(): number[] {
    const out: number[] = [];
    for (const r of this.records.values()) if (r.counted) out.push(r.at);
    return out;
  }

  /** Warnings notified, for incident timelines. */
  warnings(): KeyRecord[] {
    return [...this.records.values()].filter((r) => r.state === 'notified' && r.startsAt !== undefined);
  }

  get size(): number {
    return this.records.size;
  }

  /** Drops records older than the retention from memory (the file is compacted at the next start). */
  prune(nowMs: number): void {
    for (const [key, rec] of this.records) if (nowMs - rec.at > this.retentionMs) this.records.delete(key);
  }

  close(): void {
    this.file.close();
  }
}
