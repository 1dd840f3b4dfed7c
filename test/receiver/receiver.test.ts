import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAuditLog } from '../../src/audit/audit-log.js';
import type { ActionNotification } from '../../src/notify/events.js';
import { join } from 'node:path';
import {
  alert,
  cleanup,
  fingerprint,
  identity,
  payload,
  post,
  removeDir,
  spawnTree,
  startHarness,
  TOKEN,
  type Harness,
  type OwnedTree,
} from './harness.js';

const trees: OwnedTree[] = [];
const allowed = (): ReadonlySet<number> => new Set(trees.flatMap((t) => t.pids));
let h: Harness;

const audit = () => readAuditLog(join(h.dir, 'state', 'audit.jsonl'));
const alive = (t: OwnedTree) => t.pids.filter((p) => identity(p).alive);

beforeAll(async () => {
  h = await startHarness({ allowed, remediation: { protect: { cmdline: ['headroom-protected-marker'] } } });
});

afterAll(async () => {
  cleanup(trees);
  await h.close();
  removeDir(h.dir);
});

async function tree(marker?: string): Promise<OwnedTree> {
  const t = await spawnTree(marker);
  trees.push(t);
  return t;
}

describe('receiver with real processes', () => {
  it('stops the whole tree named by a valid authenticated alert; a repeat does nothing; resolved does nothing harmful', async () => {
    const t = await tree();
    const a = alert({ pid: String(t.pid), start_time: t.startTime, comm: 'sh' });
    const first = await post(h.url, payload([a]));
    expect(first.status).toBe(200);
    await h.receiver.idle();
    expect(alive(t)).toEqual([]);
    const actions = audit().filter((e) => e.event === 'action');
    expect(actions).toHaveLength(1);
    expect(actions[0]?.reasonCode).toBe('success');
    expect((actions[0]?.signalled as unknown[]).length).toBe(3);
    const note = h.sink.items.find((n): n is ActionNotification => n.kind === 'action');
    expect(note?.action).toBe('stop_process_tree');
    expect(note?.freedBytes).toBeGreaterThan(0);
    expect(note?.incidentId).toMatch(/pid\d+/);
    expect(note?.memoryAfter).toBeDefined();
    const report = h.remediation.incidents.show(note?.incidentId ?? '');
    expect(report).toContain('## Before / after');
    expect(report).toContain(`PID ${t.pid}`);

    // Alertmanager repeats the same alert (and an HA peer duplicates it): a new tree reusing nothing.
    const again = await post(h.url, payload([a]));
    expect(again.status).toBe(200);
    expect(again.json).toMatchObject({ duplicates: 1, queued: 0 });
    await h.receiver.idle();
    expect(audit().filter((e) => e.event === 'action')).toHaveLength(1);
    expect(audit().filter((e) => e.event === 'duplicate' && e.key === `${a.fingerprint as string}|2025-12-12T03:12:00.123Z`)).toHaveLength(1);

    // Resolved: a live tree named by a resolved alert stays alive; a "resolved" notification goes out.
    const t2 = await tree();
    const resolved = alert({ pid: String(t2.pid), start_time: t2.startTime }, { status: 'resolved' });
    expect((await post(h.url, payload([resolved], { status: 'resolved' }))).status).toBe(200);
    await h.receiver.idle();
    expect(alive(t2)).toHaveLength(3);
    expect(h.sink.items.some((n) => n.kind === 'resolved')).toBe(true);
    expect(audit().filter((e) => e.event === 'action')).toHaveLength(1);
  });

  it('refuses a reused PID (start time mismatch) and a protected process, each with its own reason', async () => {
    const t = await tree();
    const reused = alert({ pid: String(t.pid), start_time: '1000.00' });
    const p = await tree('headroom-protected-marker');
    const prot = alert({ pid: String(p.pid), start_time: p.startTime });
    expect((await post(h.url, payload([reused, prot]))).status).toBe(200);
    await h.receiver.idle();
    expect(alive(t)).toHaveLength(3);
    expect(alive(p)).toHaveLength(3);
    const refusals = audit().filter((e) => e.event === 'refusal');
    expect(refusals.find((e) => e.key === `${reused.fingerprint as string}|2025-12-12T03:12:00.123Z`)?.reasonCode).toBe('pid_reused');
    const protectedEntry = refusals.find((e) => e.key === `${prot.fingerprint as string}|2025-12-12T03:12:00.123Z`);
    expect(protectedEntry?.reasonCode).toBe('protected');
    expect(protectedEntry?.reason).toContain('protect list');
    expect(await h.registry.metrics()).toMatch(/headroom_remediation_refusals_total\{reason="pid_reused",source="receiver"\} 1/);
    expect(h.sink.items.filter((n) => n.kind === 'refusal').map((n) => (n.kind === 'refusal' ? n.reasonCode : ''))).toEqual(
      expect.arrayContaining(['pid_reused', 'protected']),
    );
  });

  it('rejects unauthenticated, malformed, oversized and wrong-version payloads and refuses truncated ones — no action, own reason each', async () => {
    const t = await tree();
    const valid = () => payload([alert({ pid: String(t.pid), start_time: t.startTime })]);
    const before = audit().length;
    expect((await post(h.url, valid(), null)).status).toBe(401);
    expect((await post(h.url, valid(), 'Bearer wrong-token')).status).toBe(401);
    expect((await post(h.url, valid(), `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}`)).status).toBe(401);
    expect((await post(h.url, '{"version":"4", "alerts": [')).status).toBe(400);
    const bad = valid();
    (bad.alerts as Array<Record<string, unknown>>)[0]!.startsAt = 'yesterday';
    const badRes = await post(h.url, bad);
    expect(badRes.status).toBe(400);
    expect(JSON.stringify(badRes.json)).toContain('startsAt');
    expect((await post(h.url, { ...valid(), version: '3' })).status).toBe(400);
    const huge = valid();
    (huge.alerts as Array<Record<string, unknown>>)[0]!.annotations = { description: 'x'.repeat(1_100_000) };
    expect((await post(h.url, huge)).status).toBe(413);
    const truncated = payload([alert({ pid: String(t.pid), start_time: t.startTime })], { truncatedAlerts: 3 });
    expect((await post(h.url, truncated)).status).toBe(200);
    await h.receiver.idle();
    expect(alive(t)).toHaveLength(3);
    const entries = audit().slice(before);
    expect(entries.filter((e) => e.event === 'action')).toEqual([]);
    expect(entries.map((e) => e.reasonCode)).toEqual(['unauthenticated', 'unauthenticated', 'unauthenticated', 'malformed', 'malformed', 'wrong_version', 'oversized', 'truncated']);
  });

  it('keeps idempotency across a restart: the same alert after a restart does not act again', async () => {
    const t = await tree();
    const fp = fingerprint();
    const a = alert({ pid: String(t.pid), start_time: t.startTime }, { fp });
    await post(h.url, payload([a]));
    await h.receiver.idle();
    expect(alive(t)).toEqual([]);
    await h.close();
    // "Restart": a new receiver on the same state dir. The same alert now names a different live tree.
    h = await startHarness({ allowed, dir: h.dir, remediation: { protect: { cmdline: ['headroom-protected-marker'] } } });
    const t2 = await tree();
    const repeat = alert({ pid: String(t2.pid), start_time: t2.startTime }, { fp });
    const res = await post(h.url, payload([repeat]));
    expect(res.json).toMatchObject({ duplicates: 1, queued: 0 });
    await h.receiver.idle();
    expect(alive(t2)).toHaveLength(3);
    const m = await h.registry.metrics();
    expect(m).toMatch(/headroom_remediation_duplicates_total\{source="receiver"\} 1/);
    // Sanity: a new alert on the new tree would act (the state is not blocking everything).
    await post(h.url, payload([alert({ pid: String(t2.pid), start_time: t2.startTime })]));
    await h.receiver.idle();
    expect(alive(t2)).toEqual([]);
  });

  it('exports receiver metrics', async () => {
    const text = await h.registry.metrics();
    expect(text).toMatch(/headroom_remediation_actions_total\{action="stop_process_tree",result="success",source="receiver"\} [1-9]/);
    expect(text).toMatch(/headroom_remediation_queue_depth 0/);
    expect(h.killed.every((k) => allowed().has(k.pid))).toBe(true);
  });
});
