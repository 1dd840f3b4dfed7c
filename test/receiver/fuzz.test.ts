import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAuditLog } from '../../src/audit/audit-log.js';
import { authorize } from '../../src/receiver/auth.js';
import { parseWebhook } from '../../src/receiver/payload.js';
import { alert, cleanup, identity, payload, removeDir, spawnTree, startHarness, TOKEN, type Harness, type OwnedTree } from './harness.js';

const PAYLOADS = 10_000;
const CONCURRENCY = 32;

/** Deterministic PRNG (mulberry32) so a failure can be replayed from the seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NASTY: unknown[] = [
  null, true, 0, -1, 1e308, 'NaN', '', ' ', '../../etc/passwd', '/../..', '$(reboot)', '`id`', '1; kill -9 1', '1', '-1', '0',
  '4294967296', '1.5', '\u0000', '\ud800', 'x'.repeat(5000), [], {}, [1, 2], { a: { b: { c: {} } } }, '__proto__', 'critical', 'resolved',
  '2025-13-45T99:99:99Z', '0001-01-01T00:00:00Z', 'firing', '4', 4, '3',
];

interface Mutated {
  body: string;
  auth: string | null;
  route: 'remediate' | 'notify';
}

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)] as T;
}

/** Every (object) path inside a JSON value. */
function paths(v: unknown, prefix: Array<string | number> = [], out: Array<Array<string | number>> = []): Array<Array<string | number>> {
  if (typeof v === 'object' && v !== null) {
    for (const [k, child] of Object.entries(v)) {
      const p = [...prefix, Array.isArray(v) ? Number(k) : k];
      out.push(p);
      paths(child, p, out);
    }
  }
  return out;
}

function mutateStructure(r: () => number, doc: Record<string, unknown>): unknown {
  const copy = JSON.parse(JSON.stringify(doc)) as Record<string, unknown>;
  const all = paths(copy);
  const n = 1 + Math.floor(r() * 3);
  for (let i = 0; i < n; i++) {
    const p = pick(r, all);
    let parent: unknown = copy;
    for (const k of p.slice(0, -1)) parent = (parent as Record<string | number, unknown>)?.[k];
    if (typeof parent !== 'object' || parent === null) continue;
    const last = p[p.length - 1] as string | number;
    const obj = parent as Record<string | number, unknown>;
    const op = r();
    if (op < 0.3) delete obj[last];
    else if (op < 0.75) obj[last] = structuredClone(pick(r, NASTY));
    // Extra keys: tolerated (and dropped) on the message and its alerts, refused inside label sets.
    else if (op < 0.9) obj[pick(r, ['extra', '__proto__', 'constructor', 'pid', 'start_time', 'cgroup', 'severity'])] = structuredClone(pick(r, NASTY));
    else obj[last] = [obj[last], obj[last]];
  }
  return copy;
}

function mutateText(r: () => number, text: string): string {
  const op = r();
  if (op < 0.3) return text.slice(0, Math.floor(r() * text.length));
  const chars = [...text];
  const n = 1 + Math.floor(r() * 8);
  for (let i = 0; i < n; i++) {
    const at = Math.floor(r() * chars.length);
    const c = pick(r, ['{', '}', '[', ']', '"', ',', ':', '\\', '0', 'a', ' ', '\u00ff', '\n']);
    if (r() < 0.5) chars[at] = c;
    else chars.splice(at, 0, c);
  }
  return chars.join('');
}

describe('fuzz: mutated Alertmanager payloads', () => {
  let h: Harness;
  let victim: OwnedTree;
  beforeAll(async () => {
    victim = await spawnTree('headroom-fuzz-victim');
    h = await startHarness({ allowed: () => new Set(victim.pids) });
  });
  afterAll(async () => {
    cleanup([victim]);
    await h.close();
    removeDir(h.dir);
  });

  it(`${PAYLOADS} mutated payloads → only 2xx/4xx, the process alive, no action`, async () => {
    const r = rng(0x4ead);
    const base = payload([
      alert({ pid: String(victim.pid), start_time: victim.startTime, comm: 'sh' }),
      alert({ cgroup: '/headroom.slice/fuzz' }),
      alert({}, { status: 'resolved' }),
    ]);
    const baseText = JSON.stringify(base);
    const auths = [...Array<string>(15).fill(`Bearer ${TOKEN}`), null, 'Bearer nope', `Basic ${Buffer.from(`a:${TOKEN}`).toString('base64')}`, 'Bearer', `bearer ${TOKEN}x`];
    const creds = { bearer: TOKEN };
    let skippedValidCritical = 0;
    const make = (): Mutated => {
      for (;;) {
        const op = r();
        const body = op < 0.45 ? JSON.stringify(mutateStructure(r, base)) : op < 0.9 ? mutateText(r, baseText) : pick(r, ['', 'null', '[]', '42', '"4"', '{}', '{"version":4}', baseText.repeat(2)]);
        const auth = pick(r, auths);
        const route = r() < 0.8 ? 'remediate' : 'notify';
        // A mutation that is still a valid, authenticated, firing critical alert on /remediate is a legitimate
        // instruction, not garbage: it is covered by the receiver tests, not here.
        const parsed = parseWebhook(body);
        const actionable =
          parsed.ok &&
          authorize(auth ?? undefined, creds) &&
          route === 'remediate' &&
          parsed.payload.alerts.some((a) => a.status === 'firing' && a.labels.severity === 'critical');
        if (!actionable) return { body, auth, route };
        skippedValidCritical += 1;
      }
    };
    const statuses = new Map<number, number>();
    let sent = 0;
    const worker = async (): Promise<void> => {
      while (sent < PAYLOADS) {
        sent += 1;
        const m = make();
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (m.auth !== null) headers.authorization = m.auth;
        const res = await fetch(`${h.url}/alerts/${m.route}`, { method: 'POST', headers, body: m.body });
        await res.arrayBuffer();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    await h.receiver.idle();

    const codes = [...statuses.keys()].sort();
    const total = [...statuses.values()].reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThanOrEqual(PAYLOADS);
    expect(codes.every((c) => (c >= 200 && c < 300) || (c >= 400 && c < 500))).toBe(true);
    expect(statuses.get(200) ?? 0).toBeGreaterThan(0);
    expect(statuses.get(400) ?? 0).toBeGreaterThan(PAYLOADS / 2);
    expect(statuses.get(401) ?? 0).toBeGreaterThan(0);
    expect(victim.pids.every((p) => identity(p).alive)).toBe(true);
    expect(h.killed).toEqual([]);
    const log = readAuditLog(join(h.dir, 'state', 'audit.jsonl'));
    expect(log.filter((e) => e.event === 'action')).toEqual([]);
    expect(log.filter((e) => e.event === 'rejected').length).toBeGreaterThan(PAYLOADS / 2);
    console.log(`fuzz: ${total} requests, statuses ${JSON.stringify(Object.fromEntries(statuses))}, ${skippedValidCritical} valid critical mutations regenerated`);
  });
});
