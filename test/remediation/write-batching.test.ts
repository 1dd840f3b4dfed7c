import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileAuditLog, readAuditLog, type AuditEntry } from '../../src/audit/audit-log.js';
import { IdempotencyStore } from '../../src/remediation/idempotency.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'headroom-batching-'));
  dirs.push(d);
  return d;
}
const entry = (event: AuditEntry['event'], reasonCode: string): AuditEntry => ({ ts: '2026-01-01T00:00:00.000Z', source: 'receiver', event, reasonCode, reason: reasonCode });
const lines = (path: string): string[] => readFileSync(path, 'utf8').split('\n').filter((l) => l !== '');

describe('audit log: one write per task for non-action lines, actions at once', () => {
  it('writes the non-action lines of a task together, in order, before awaiting code resumes', async () => {
    const path = join(tempDir(), 'audit.jsonl');
    const log = new FileAuditLog(path);
    log.append(entry('duplicate', 'a'));
    log.append(entry('refusal', 'b'));
    expect(lines(path)).toEqual([]); // still pending within this task
    await Promise.resolve();
    expect(readAuditLog(path).map((e) => e.reasonCode)).toEqual(['a', 'b']);
    log.close();
  });

  it('writes an action line, with everything pending before it, before append() returns', () => {
    const path = join(tempDir(), 'audit.jsonl');
    const log = new FileAuditLog(path);
    log.append(entry('refusal', 'before'));
    log.append(entry('action', 'success'));
    expect(readAuditLog(path).map((e) => `${e.event}:${e.reasonCode}`)).toEqual(['refusal:before', 'action:success']);
    log.append(entry('notified', 'after'));
    log.close(); // close writes what is pending
    expect(readAuditLog(path).map((e) => e.reasonCode)).toEqual(['before', 'success', 'after']);
    expect(() => log.append(entry('notified', 'late'))).toThrow(/closed/);
  });
});

describe('idempotency state: durable claims at once, the rest per task', () => {
  it('writes a durable claim with the pending records before set() returns, and survives a restart', async () => {
    const dir = tempDir();
    const path = join(dir, 'idempotency.jsonl');
    const store = new IdempotencyStore(path, 1_000, 60_000);
    store.set({ key: 'k1', state: 'refused', at: 1_000 });
    expect(store.get('k1')?.state).toBe('refused'); // in memory at once
    expect(lines(path)).toEqual([]);
    store.set({ key: 'k2', state: 'in_progress', at: 1_001 }, true);
    expect(lines(path).map((l) => (JSON.parse(l) as { key: string }).key)).toEqual(['k1', 'k2']);
    store.set({ key: 'k3', state: 'notified', at: 1_002 });
    await Promise.resolve();
    expect(lines(path)).toHaveLength(3);
    store.set({ key: 'k2', state: 'acted', at: 1_003, counted: true });
    store.close();
    const restarted = new IdempotencyStore(path, 2_000, 60_000);
    expect(restarted.get('k1')?.state).toBe('refused');
    expect(restarted.get('k2')?.state).toBe('acted');
    expect(restarted.actionTimes()).toEqual([1_003]);
    restarted.close();
  });
});
