import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type ConsoleMessage } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, requireBuiltCli, startAgentProcess } from '../support/cli.js';
import { V1_MEMORY_ROOT } from '../support/cgroup.js';
import { killAndWait } from '../support/processes.js';
import { spawnDetached } from './support.js';
import { saveIncident } from '../status/helpers.js';
import { skipSuite } from '../support/suites.js';

/**
 * The status page in a real browser (Debian's chromium through playwright-core): a real agent, a real job
 * started by `headroom run` (hard-limited cgroup) whose command line is an HTML/script payload, a real
 * incident in the store; desktop and phone screenshots, no console errors, the report opens.
 */
const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const PAYLOAD = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">';
const NAME = `headroom-people-page-${process.pid}`;
/** Where the screenshots go (looked at by the engineer; docs/status-page.png is one of them). */
export const SHOTS = join(tmpdir(), `${NAME}-shots`);


describe.skipIf(skipSuite('status-page-browser'))('status page in Chromium', () => {
  let dir: string;
  let agent: ChildProcess | undefined;
  let job: Awaited<ReturnType<typeof spawnDetached>> | undefined;
  let url = '';
  let incidentId = '';
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    requireBuiltCli();
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: scripts/install-deps.sh installs Debian's chromium`);
    dir = mkdtempSync(join(tmpdir(), `${NAME}-`));
    mkdirSync(SHOTS, { recursive: true });
    // The jobs' parent: a hard 1 GiB limit above headroom run's own 256 MiB one.
    mkdirSync(join(V1_MEMORY_ROOT, NAME, 'headroom.slice'), { recursive: true });
    writeFileSync(join(V1_MEMORY_ROOT, NAME, 'memory.limit_in_bytes'), String(2 ** 30));
    const port = 20_000 + (process.pid % 20_000);
    writeFileSync(
      join(dir, 'config.yml'),
      [
        `agent: { listen: "127.0.0.1:${port}" }`,
        `remediation: { state_dir: "${join(dir, 'state')}", dry_run: true }`,
        // The guard on, in dry run: the page shows its line and distance; it could never stop anything here.
        'guard: { enabled: true, harden_self: false }',
        `notify: { state_dir: "${join(dir, 'notify')}" }`,
        `run: { cgroup_parent: "/${NAME}/headroom.slice", backend: cgroup-v1 }`,
        'page: { refresh: 60s, history: { window: 30s, host_interval: 200ms, tree_interval: 1s, top_k: 50 } }',
        '',
      ].join('\n'),
    );
    // Detached (setsid -f): `headroom run` and its job are their own trees, not part of this test's tree.
    // The job prints its parent's PID: that of `headroom run`, stopped by that PID at the end.
    job = await spawnDetached(
      [process.execPath, CLI, 'run', '--config', join(dir, 'config.yml'), '--name', 'train-xss', '--memory-max', '256M', '--', 'python3', '-c', "import os,time;b=b'x'*(120<<20);print('pid',os.getppid(),flush=True);time.sleep(300)", PAYLOAD],
      30_000,
    );
    const started = await startAgentProcess(['--config', join(dir, 'config.yml')]);
    agent = started.child;
    url = started.url;
    // A real incident through the real store (as the receiver's dry run writes it).
    incidentId = saveIncident(join(dir, 'state'), { dryRun: true, result: 'dry_run', target: { process: { pid: job.pid, startTime: '1.00', comm: 'python3', cmdline: `python3 train.py ${PAYLOAD}`, residentBytes: 120 * 2 ** 20 } } }).id;
    // Let the history collect a few seconds of host samples and a tree sample with the job in it.
    for (let i = 0; i < 100; i++) {
      const html = await (await fetch(`${url}/`)).text();
      if (html.includes('train-xss') && html.includes('time.sleep(300)')) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    await new Promise((r) => setTimeout(r, 6000));
  }, 90_000);

  afterAll(async () => {
    for (const c of contexts.splice(0)) await c.close();
    await killAndWait(agent);
    // SIGTERM to `headroom run` (by PID): it stops its job and removes the job's cgroup.
    const stopped = await job?.kill('SIGTERM', 20_000);
    if (stopped === false) await job?.kill('SIGKILL');
    // Safety net: a process still in this test's own cgroups was started by this test; stop it by PID.
    for (const h of ['memory', 'cpu', 'cpuacct']) {
      const root = join('/sys/fs/cgroup', h, NAME);
      if (!existsSync(root)) continue;
      const slice = join(root, 'headroom.slice');
      const leaves = existsSync(slice) ? readdirSync(slice, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => join(slice, e.name)) : [];
      for (const leaf of leaves) {
        for (const pid of readFileSync(join(leaf, 'cgroup.procs'), 'utf8').split('\n').filter((l) => /^\d+$/.test(l))) process.kill(Number(pid), 'SIGKILL');
      }
      for (let i = 0; i < 50 && leaves.some((l) => readFileSync(join(l, 'cgroup.procs'), 'utf8').trim() !== ''); i++) await new Promise((r) => setTimeout(r, 100));
      for (const d of [...leaves, slice, root]) if (existsSync(d)) rmdirSync(d);
    }
    rmSync(dir, { recursive: true, force: true });
    if (process.env.HEADROOM_KEEP_SCREENSHOTS === '1') console.log(`screenshots kept in ${SHOTS}`);
    else rmSync(SHOTS, { recursive: true, force: true });
  }, 60_000);

  const open = async (width: number, height: number, javaScriptEnabled = true): Promise<{ ctx: BrowserContext; errors: string[] }> => {
    const profile = mkdtempSync(join(tmpdir(), `${NAME}-profile-`));
    const ctx = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: ARGS, headless: true, viewport: { width, height }, javaScriptEnabled });
    contexts.push(ctx);
    const errors: string[] = [];
    ctx.on('weberror', (e) => errors.push(`page error: ${e.error().message}`));
    ctx.on('console', (m: ConsoleMessage) => {
      if (m.type() === 'error') errors.push(`console: ${m.text()}`);
    });
    return { ctx, errors };
  };

  it('desktop: everything shown, the payload is text, no console errors, the report opens', async () => {
    const { ctx, errors } = await open(1280, 900);
    const page = await ctx.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
    const res = await page.goto(`${url}/`);
    expect(res?.status()).toBe(200);
    expect(await page.title()).toMatch(/^headroom — /);
    for (const id of ['memory', 'guard', 'trees', 'jobs', 'incidents', 'outbox']) expect(await page.locator(`section#${id}`).count()).toBe(1);
    expect(await page.locator('section#memory svg.chart').count()).toBe(4);
    // Lines on the memory chart: warning, critical and the guard's.
    const memory = (await page.locator('section#memory').textContent()) ?? '';
    expect(memory).toContain('warning 80%');
    expect(memory).toContain('critical 95%');
    expect(memory).toContain('guard 97%');
    expect((await page.locator('section#guard').textContent()) ?? '').toMatch(/guard on watching host memory: acts when available memory stays below 3\.0%\.\s+Distance to its line: \+\d+\.\d points; polling every \d+ ms/);
    // The job started by headroom run, with its limit as a bar and memory.high marked.
    const jobs = (await page.locator('section#jobs').textContent()) ?? '';
    expect(jobs).toContain(`/${NAME}/headroom.slice/train-xss-`);
    expect(jobs).toContain('256 MiB');
    expect(await page.locator('section#jobs svg.bar').count()).toBe(1);
    expect(await page.locator('section#jobs svg.bar title').first().textContent()).toMatch(/^1\d\d MiB of 256 MiB$/);
    // The payload is text on the page, never markup: no script ran, no <img> was created.
    const trees = (await page.locator('section#trees').textContent()) ?? '';
    expect(trees).toContain(PAYLOAD);
    expect(await page.evaluate('typeof window.__xss')).toBe('undefined');
    expect(await page.locator('img').count()).toBe(0);
    expect(await page.locator('script').count()).toBe(0);
    await page.screenshot({ path: join(SHOTS, 'status-desktop.png'), fullPage: true });
    await page.screenshot({ path: join(SHOTS, 'status-desktop-screen.png') });
    // The incident appears and its report opens, rendered as HTML with its charts.
    const link = page.locator(`a[href="incidents/${incidentId}"]`);
    expect(await link.count()).toBe(1);
    await link.click();
    await page.waitForURL(`${url}/incidents/${incidentId}`);
    expect(await page.locator('h1').textContent()).toBe(`Incident ${incidentId} (dry run)`);
    expect(await page.locator('svg[aria-label="timeline"]').count()).toBe(1);
    expect(await page.locator('section#before-after svg.bar').count()).toBe(2);
    expect((await page.locator('section#summary').textContent()) ?? '').toContain(PAYLOAD);
    expect(await page.locator('img, script').count()).toBe(0);
    await page.screenshot({ path: join(SHOTS, 'report-desktop.png'), fullPage: true });
    expect(errors).toEqual([]);
  }, 60_000);

  it('phone width, JavaScript off: readable, nothing wider than the screen', async () => {
    const { ctx, errors } = await open(390, 844, false);
    const page = await ctx.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`console: ${m.text()}`);
    });
    await page.goto(`${url}/`);
    expect(await page.locator('section#trees').textContent()).toContain('time.sleep(300)');
    const widths = await page.evaluate<{ doc: number; view: number }>('({ doc: document.documentElement.scrollWidth, view: window.innerWidth })');
    expect(widths.doc).toBeLessThanOrEqual(widths.view);
    // The charts scale to the phone's width.
    const chart = await page.locator('section#memory svg.chart').first().boundingBox();
    expect(chart?.width ?? 0).toBeGreaterThan(300);
    expect(chart?.width ?? 999).toBeLessThanOrEqual(390);
    await page.screenshot({ path: join(SHOTS, 'status-phone.png'), fullPage: true });
    await page.screenshot({ path: join(SHOTS, 'status-phone-screen.png') });
    await page.locator('section#trees').screenshot({ path: join(SHOTS, 'status-phone-trees.png') });
    expect(errors).toEqual([]);
  }, 60_000);
});
