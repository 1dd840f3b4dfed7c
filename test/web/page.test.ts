import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { renderStatusPage, type PageModel } from '../../src/web/render/page.js';
import { saveIncident } from '../status/helpers.js';
import { spawnDetached, startPage } from './support.js';

export const PAYLOAD = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">';
const PY = 'import os,time; print("pid", os.getpid(), flush=True); time.sleep(120)';
const ESCAPED = '&lt;script&gt;window.__xss=1&lt;/script&gt;&lt;img src=x onerror=&quot;window.__xss=2&quot;&gt;';

const model = (over: Partial<PageModel> = {}): PageModel => ({
  host: `box${PAYLOAD}`,
  version: '0.1.0',
  nowMs: 1_765_509_200_000,
  windowMs: 15 * 60_000,
  refreshSeconds: 10,
  hideCmdlines: false,
  hostSeries: [0, 1, 2].map((i) => ({ atMs: 1_765_509_200_000 - (2 - i) * 60_000, totalBytes: 64 * 2 ** 30, availableBytes: (10 - i * 4) * 2 ** 30, swapTotalBytes: 8 * 2 ** 30, swapUsedBytes: i * 2 ** 30, psiSome10: 0.1 * i, psiFull10: 0.05 * i })),
  thresholds: { warning: 0.8, critical: 0.95 },
  guard: { enabled: true, scope: 'host memory', availableBelow: 0.03, minIntervalMs: 100, maxIntervalMs: 1000, distance: 0.0012, intervalMs: 100 },
  trees: [{ key: '300/1', pid: 300, startTimeSeconds: 1_765_500_000, comm: 'python3', user: `ml${PAYLOAD}`, cmdline: `python3 ${PAYLOAD}`, cgroup: `/x${PAYLOAD}`, residentBytes: 50 * 2 ** 30, processes: 3, series: [{ atMs: 1, value: 1 }, { atMs: 2, value: 3 }], growthBytesPerSecond: 2 ** 20 }],
  jobs: [{ path: `/headroom.slice/job${PAYLOAD}`, usageBytes: 3 * 2 ** 30, limitBytes: 4 * 2 ** 30, highBytes: 3.5 * 2 ** 30, series: [], growthBytesPerSecond: 0 }],
  incidents: [{ id: '20251212T031300Z-pid449948', at: '2025-12-12T03:13:00Z', action: 'stop_process_tree', result: 'success', dryRun: false, source: 'receiver', alertName: `Alert${PAYLOAD}`, target: `PID 449948 ${PAYLOAD}` }],
  outbox: { stored: 2, pending: { log: 0, [`slack${PAYLOAD}`]: 2 }, failed: { email: 1 } },
  notes: [`note ${PAYLOAD}`],
  ...over,
});

describe('status page rendering (pure)', () => {
  it('escapes every value from outside and draws the lines, bars and charts', () => {
    const page = renderStatusPage(model());
    expect(page).not.toContain('<script');
    expect(page).not.toContain('<img');
    expect(page.split(ESCAPED).length - 1).toBeGreaterThanOrEqual(7); // host ×2, cmdline, user, job, incident target, outbox, note
    expect(page).toContain('warning 80%');
    expect(page).toContain('critical 95%');
    expect(page).toContain('guard 97%');
    expect(page).toContain('Distance to its line: <b>+0.1 points</b>; polling every <b>100 ms</b>');
    expect(page).toContain('memory.high 3.5 GiB');
    expect(page).toContain('+60.0 MiB/min');
    expect(page).toContain('<a href="incidents/20251212T031300Z-pid449948">');
    expect(page).toMatch(/<meta http-equiv="refresh" content="10">/);
    expect((page.match(/<svg class="chart"/g) ?? []).length).toBe(4);
  });

  it('hides command lines when configured', () => {
    const page = renderStatusPage(model({ hideCmdlines: true }));
    expect(page).toContain('<code>[python3]</code>');
    expect(page).not.toContain(`python3 ${ESCAPED}`);
    expect(page).toContain('<code>PID 449948</code>');
  });
});

describe('status page served by mountPeople (real /proc, real process)', () => {
  let dir: string;
  let child: Awaited<ReturnType<typeof spawnDetached>> | undefined;
  const closers: Array<() => Promise<void>> = [];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), `headroom-people-page-${process.pid}-`));
  });
  afterEach(async () => {
    for (const c of closers.splice(0)) await c();
    await child?.kill();
    child = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  const config = (page: Record<string, unknown> = {}): Record<string, unknown> => ({
    remediation: { state_dir: join(dir, 'state') },
    page: { history: { host_interval: '200ms', tree_interval: '1s', top_k: 500 }, ...page },
  });

  it('shows a real process whose command line is an HTML/script payload as text, and its incident report', async () => {
    child = await spawnDetached(['python3', '-c', PY, PAYLOAD]);
    const p = await startPage(config());
    closers.push(p.close);
    const rec = saveIncident(join(dir, 'state'), { target: { process: { pid: child.pid, startTime: '1.00', comm: 'python3', cmdline: `python3 ${PAYLOAD}`, residentBytes: 1 } } });
    // The next tree sample (1 s) sees the process.
    let page = '';
    for (let i = 0; i < 50 && !page.includes(`<td class="num" data-label="PID">${child.pid}</td>`); i++) {
      await new Promise((r) => setTimeout(r, 200));
      page = await (await fetch(`${p.url}/`)).text();
    }
    const row = page.slice(page.indexOf(`<td class="num" data-label="PID">${child.pid}</td>`));
    // The command line as text: escaped, whole (python3 may be a full path under pyenv).
    expect(row).toMatch(/^<td class="num" data-label="PID">\d+<\/td><td><code>\S*python3 -c import os,time; /);
    expect(row).toContain(`time.sleep(120) ${ESCAPED}</code></td>`);
    expect(page).not.toContain('<script');
    expect(page).not.toContain('<img');
    const res = await fetch(`${p.url}/`);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    const report = await fetch(`${p.url}/incidents/${rec.id}`);
    expect(report.status).toBe(200);
    const body = await report.text();
    expect(body).toContain(`<h1>Incident ${rec.id}</h1>`);
    expect(body).toContain(ESCAPED);
    expect(body).not.toContain('<script');
    expect(body).toContain('aria-label="timeline"');
    expect((await fetch(`${p.url}/incidents/no-such-incident`)).status).toBe(404);
    expect((await fetch(`${p.url}/incidents/..%2F..%2Fetc%2Fpasswd`)).status).toBe(400);
    // agent.json is there while running and gone after close.
    expect(existsSync(join(dir, 'state', 'agent.json'))).toBe(true);
    await closers.pop()?.();
    expect(existsSync(join(dir, 'state', 'agent.json'))).toBe(false);
  });

  it('hides command lines when page.hide_cmdlines is set', async () => {
    child = await spawnDetached(['python3', '-c', PY, PAYLOAD]);
    const p = await startPage(config({ hide_cmdlines: true }));
    closers.push(p.close);
    let page = '';
    for (let i = 0; i < 50 && !page.includes(`<td class="num" data-label="PID">${child.pid}</td>`); i++) {
      await new Promise((r) => setTimeout(r, 200));
      page = await (await fetch(`${p.url}/`)).text();
    }
    expect(page).toContain(`<td class="num" data-label="PID">${child.pid}</td><td><code>[python3]</code>`);
    expect(page).not.toContain('__xss');
  });

  it('on a non-loopback listener needs the receiver credentials', async () => {
    const open = await startPage(config(), '192.0.2.10');
    closers.push(open.close);
    const refused = await fetch(`${open.url}/`);
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain('configure receiver.auth');
    writeFileSync(join(dir, 'token'), 's3cret-token\n');
    writeFileSync(join(dir, 'basic'), 'oncall:pa55\n');
    const tok = await startPage({ ...config(), receiver: { auth: { token_file: join(dir, 'token') } } }, '192.0.2.10');
    closers.push(tok.close);
    const noAuth = await fetch(`${tok.url}/`);
    expect(noAuth.status).toBe(401);
    expect(noAuth.headers.get('www-authenticate')).toBe('Bearer realm="headroom"');
    expect((await fetch(`${tok.url}/`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    expect((await fetch(`${tok.url}/`, { headers: { authorization: 'Bearer s3cret-token' } })).status).toBe(200);
    expect((await fetch(`${tok.url}/incidents/x`)).status).toBe(401);
    const basic = await startPage({ ...config(), receiver: { auth: { basic_auth_file: join(dir, 'basic') } } }, '192.0.2.10');
    closers.push(basic.close);
    const challenge = await fetch(`${basic.url}/`);
    expect(challenge.headers.get('www-authenticate')).toBe('Basic realm="headroom", charset="UTF-8"');
    const ok = await fetch(`${basic.url}/`, { headers: { authorization: `Basic ${Buffer.from('oncall:pa55').toString('base64')}` } });
    expect(ok.status).toBe(200);
    // Loopback: no authentication needed even with credentials configured.
    const local = await startPage({ ...config(), receiver: { auth: { token_file: join(dir, 'token') } } }, '127.0.0.1');
    closers.push(local.close);
    expect((await fetch(`${local.url}/`)).status).toBe(200);
  });
});
