import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startAgent } from '../../src/agent/agent.js';
import { parseConfig } from '../../src/config/load.js';
import { DEFAULT_KERNEL_UNITS } from '../../src/procfs/procfs.js';
import { historyGrowthSource } from '../../src/history/growth.js';
import { ShortHistory } from '../../src/history/history.js';
import { sampleHost, sampleTrees } from '../../src/history/sampler.js';
import type { IncidentRecord } from '../../src/incidents/types.js';
import { memoryLogger } from '../../src/logging/logger.js';
import type { ActionNotification, WarningNotification } from '../../src/notify/events.js';
import { renderEmail } from '../../src/notify/render/email.js';
import { renderSlackMessage } from '../../src/notify/render/slack.js';
import { CgroupFs } from '../../src/procfs/cgroupfs.js';
import { guardTrigger } from '../../src/remediation/pipeline.js';
import { descendants, files, identity, proc, removeDir } from '../receiver/harness.js';
import { canCreateV1Cgroup, createV1Cgroup, inCgroup, type TestCgroup } from '../support/cgroup.js';
import { realRemediation } from '../support/real-remediation.js';
import { skipSuite } from '../support/suites.js';

/**
 * The growth history on a real path (issue #11): a process this test starts grows inside a hard-limited v1
 * cgroup (512 MiB); the agent's history is sampled from the real /proc by the real sampler; the pipeline, as
 * the guard calls it, stops the process; the report has a Growth section with a positive rate, the chart
 * exists next to it and parses as XML, and a warning before the action named the growing tree.
 */
const MiB = 1024 * 1024;
const TAG = `headroom-growth-${process.pid}`;
const canRun = process.getuid?.() === 0 && canCreateV1Cgroup();
if (!canRun) console.log('SKIP test/history/growth-real.test.ts: needs root and a writable cgroup v1 memory controller');

const dirs: string[] = [];
const cgroups: TestCgroup[] = [];
const children: ChildProcess[] = [];
const owned = new Set<number>();
const timers: Array<ReturnType<typeof setInterval>> = [];

afterAll(async () => {
  for (const t of timers) clearInterval(t);
  for (const pid of owned) {
    try {
      if (identity(pid).alive) process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await new Promise((r) => setTimeout(r, 300));
  for (const cg of cgroups) cg.remove();
  dirs.forEach(removeDir);
});

/**
 * Forks away from its parent (reparented to PID 1, so it heads its own job tree as a user's job does under a
 * login shell, not a subtree of this test runner), grows 4 MiB every 200 ms (about 20 MiB/s)
 * for 16 s (≈ 320 MiB), says "ready" after 12 s, then holds. It stays in the cgroup (fork inherits it).
 */
const GROWER = [
  'import os, sys, time',
  'if os.fork() > 0: os._exit(0)',
  'chunks = []',
  'for step in range(80):',
  '    c = bytearray(4 << 20)',
  '    for i in range(0, len(c), 4096): c[i] = 1',
  '    chunks.append(c)',
  '    if step == 60: print("ready", flush=True)',
  '    time.sleep(0.2)',
  'time.sleep(120)',
].join('\n');

/** Starts GROWER in the cgroup; resolves with its PID (after the fork) once it says "ready". */
async function startGrower(cg: TestCgroup, script = GROWER): Promise<number> {
  const [sh, args] = inCgroup(cg.procsFile, ['python3', '-c', script]);
  const child = spawn(sh, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  owned.add(child.pid as number);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('grower did not become ready')), 60_000);
    child.stdout?.on('data', (b: Buffer) => {
      if (b.toString().includes('ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  // The forked grower is the one process in its cgroup (the first one exited right after the fork).
  const procs = readFileSync(cg.procsFile, 'utf8').trim().split('\n').filter((l) => l !== '').map(Number);
  for (const p of procs) owned.add(p);
  expect(procs).toHaveLength(1);
  return procs[0] as number;
}

const xmlRoot = (file: string): string =>
  execFileSync('python3', ['-c', 'import sys, xml.etree.ElementTree as E; r = E.parse(sys.argv[1]).getroot(); print(r.tag, r.get("width"), r.get("height"))', file], { encoding: 'utf8' }).trim();

describe.skipIf(skipSuite('growth-cgroup-v1'))('growth history on a real growing process (v1 cgroup)', () => {
  it('the report has a Growth section with a positive rate and an SVG chart next to it; the warning named the tree', async () => {
    const cg = createV1Cgroup(`${TAG}-a`, 512 * MiB);
    cgroups.push(cg);
    const startedAt = Date.now();
    // The agent's history, fed by the real sampler: host every 200 ms, trees every 1 s (all trees: top 500).
    const history = new ShortHistory({ now: () => Date.now(), hostIntervalMs: 200, treeIntervalMs: 1000, topK: 500, windowMs: 5 * 60_000 });
    const samplerIo = { proc, cgroups: new CgroupFs('/sys/fs/cgroup', files), files, runCgroupParent: '/headroom.slice', passwdPath: '/etc/passwd', now: () => Date.now() };
    sampleHost(history, samplerIo);
    sampleTrees(history, samplerIo);
    timers.push(setInterval(() => sampleHost(history, samplerIo), 200), setInterval(() => sampleTrees(history, samplerIo), 1000));

    const pid = await startGrower(cg);
    expect(pid).toBeGreaterThan(0);
    for (const p of descendants(pid)) owned.add(p);

    const { r, dir, sink } = realRemediation({
      prefix: TAG,
      remediation: { evidence: { enabled: false } },
      mayTouch: (p) => owned.has(p),
      restrictTo: () => owned,
      treeFs: false,
      growth: historyGrowthSource(history, startedAt, 'test-host'),
    });
    dirs.push(dir);
    try {
      // A warning first (as from /alerts/notify): it says which tree grows and how fast.
      const warnedAt = new Date();
      await r.pipeline.handle({ kind: 'warning', source: 'receiver', key: `${TAG}-warn`, alertName: 'HostMemoryWarning', severity: 'warning', summary: 'memory above 80 %', startsAt: warnedAt });
      const warning = sink.items.find((n): n is WarningNotification => n.kind === 'warning');
      expect(warning?.growth, JSON.stringify(warning)).toBeDefined();
      // Other engineers' processes may grow faster on this shared machine; when ours is named, its rate is right.
      if (warning?.growth?.pid === pid) expect(warning.growth.bytesPerSecond).toBeGreaterThan(5 * MiB);
      expect(warning?.growth?.exhaustionSeconds).toBeGreaterThan(0);
      console.log(`growth warning on a real host: PID ${warning?.growth?.pid} (${warning?.growth?.comm}) ${((warning?.growth?.bytesPerSecond ?? 0) / MiB).toFixed(1)} MiB/s, exhaustion in ${Math.round(warning?.growth?.exhaustionSeconds ?? 0)} s (swap counted: ${warning?.growth?.includesSwap})`);

      // The guard crossed after the warning (the warning is the first one of this incident).
      const out = await r.pipeline.handle(guardTrigger({ at: new Date() }));
      expect(out, JSON.stringify(out)).toMatchObject({ kind: 'action', action: 'stop_process_tree', result: 'success' });
      expect(identity(pid).alive).toBe(false);
      // Memory recovered: the incident is held open for re-crossings (close_after); close it now for its report.
      r.pipeline.closeHeld();

      const rec = r.incidents.list()[0] as IncidentRecord;
      const g = rec.growth;
      expect(g?.noHistory).toBeUndefined();
      expect(g?.tree?.pid).toBe(pid);
      expect(g?.rateBytesPerSecond).toBeGreaterThan(5 * MiB);
      expect(g?.rateBytesPerSecond).toBeLessThan(60 * MiB);
      expect(g?.began).toBeDefined();
      expect(g?.firstWarning?.at).toBe(warnedAt.toISOString());
      expect(g?.firstWarning?.hostUsedBytes).toBeGreaterThan(0);
      expect(g?.action?.hostUsedBytes).toBeGreaterThan(0);
      expect(g?.action?.treeBytes).toBeGreaterThan(150 * MiB);
      expect(g?.warningToActionSeconds).toBeGreaterThanOrEqual(0);
      console.log(`growth in the report of a real kill: ${((g?.rateBytesPerSecond ?? 0) / MiB).toFixed(1)} MiB/s over ${g?.rateOverSeconds} s, ${g?.tree?.samples} tree samples, began ${g?.began?.at}${g?.beganBeforeHistory ? ' (or before)' : ''}`);

      const report = readFileSync(join(dir, 'incidents', `${rec.id}.md`), 'utf8');
      expect(report).toContain('## Growth');
      expect(report).toMatch(/\*\*Rate\*\*: \d+(\.\d)? MiB\/s/);
      expect(report).toContain(`](${rec.id}.svg)`);
      const svgFile = join(dir, 'incidents', `${rec.id}.svg`);
      expect(existsSync(svgFile)).toBe(true);
      expect(g?.chart).toBe(`${rec.id}.svg`);
      expect(xmlRoot(svgFile)).toBe('{http://www.w3.org/2000/svg}svg 760 320');
      expect(readFileSync(svgFile, 'utf8')).toContain(`PID ${pid}`);

      const action = sink.items.find((n): n is ActionNotification => n.kind === 'action') as ActionNotification;
      expect(action.growth).toMatch(/^grew \d+(\.\d)? MiB\/s/);
      expect(action.chart).toBe(`${rec.id}.svg`);
      const slack = JSON.stringify(renderSlackMessage(action, { reportBaseUrl: 'https://box.example:9632/' }));
      expect(slack).toContain(`<https://box.example:9632/incidents/${rec.id}.svg|Memory chart`);
      const mail = renderEmail(action, { subjectPrefix: '', reportUrl: (id) => `https://box.example:9632/incidents/${encodeURIComponent(id)}` });
      expect(mail.html).toContain(`<a href="https://box.example:9632/incidents/${rec.id}.svg">`);
      // Without a base URL there are no links, only the one-line growth.
      expect(JSON.stringify(renderSlackMessage(action))).not.toContain('Memory chart');
    } finally {
      r.close();
    }
  }, 120_000);

  it('the agent wires it: its guard (watching the cgroup) stops the grower, the report has Growth, the chart is served', async () => {
    const cg = createV1Cgroup(`${TAG}-agent`, 256 * MiB);
    cgroups.push(cg);
    const dir = mkdtempSync(join(tmpdir(), `${TAG}-agent-`));
    dirs.push(dir);
    // Grows 2 MiB every 200 ms without stopping: past 80 % of the 256 MiB limit after about 20 s (longer on a
    // loaded machine), so the history's 1 s tree samples span more than the rate's 10 s minimum by then.
    const endless = GROWER.replace('for step in range(80):', 'for step in range(1000):').replace('bytearray(4 << 20)', 'bytearray(2 << 20)').replace('if step == 60:', 'if step == 5:');
    const config = parseConfig(
      {
        agent: { listen: '127.0.0.1:0' },
        page: { history: { host_interval: '200ms', tree_interval: '1s', top_k: 500 } },
        guard: { enabled: true, watch_cgroup: cg.rel, available_below: 0.2, harden_self: false },
        remediation: { state_dir: dir, min_victim_size: '1M', kill_grace: '2s', recovered: { cgroup_used_below: 0.7 }, evidence: { enabled: false }, protect_sshd: { enabled: false }, incident: { close_after: '2s' } },
      },
      'test',
    );
    const logger = memoryLogger();
    const agent = await startAgent(
      config,
      {
        stdout: process.stdout,
        stderr: process.stderr,
        env: {},
        logger,
        now: () => new Date(),
        monotonic: () => performance.now() / 1000,
        pid: process.pid,
        ppid: process.ppid,
        version: 'test',
        stopSignal: new Promise<NodeJS.Signals>(() => undefined),
        hostFacts: () => Promise.resolve({ hostname: 'test-host' }),
      },
      DEFAULT_KERNEL_UNITS,
    );
    try {
      const pid = await startGrower(cg, endless);
      let rec: IncidentRecord | undefined;
      for (let i = 0; i < 600 && rec === undefined; i++) {
        await new Promise((res) => setTimeout(res, 200));
        rec = agent.remediation?.incidents.list().find((x) => x.target.process?.pid === pid);
      }
      expect(rec, JSON.stringify(logger.lines.slice(-5))).toBeDefined();
      expect(identity(pid).alive).toBe(false);
      const g = (rec as IncidentRecord).growth;
      expect(g?.tree?.pid).toBe(pid);
      expect(g?.rateBytesPerSecond, JSON.stringify(g)).toBeGreaterThan(2 * MiB);
      console.log(`growth through the agent: ${((g?.rateBytesPerSecond ?? 0) / MiB).toFixed(1)} MiB/s over ${g?.rateOverSeconds} s, ${g?.tree?.samples} samples; chart ${g?.chart}`);
      const id = (rec as IncidentRecord).id;
      const md = readFileSync(join(dir, 'incidents', `${id}.md`), 'utf8');
      expect(md).toContain('## Growth');
      const svg = await fetch(`${agent.url}/incidents/${id}.svg`);
      expect(svg.status).toBe(200);
      expect(svg.headers.get('content-type')).toMatch(/^image\/svg\+xml/);
      expect(xmlRoot(join(dir, 'incidents', `${id}.svg`))).toBe('{http://www.w3.org/2000/svg}svg 760 320');
      const page = await (await fetch(`${agent.url}/incidents/${id}`)).text();
      expect(page).toContain('<section id="growth"><h2>Growth</h2>');
    } finally {
      await agent.close();
    }
  }, 180_000);
});
