import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { dump } from 'js-yaml';
import { readAuditLog, type AuditEntry } from '../../../src/audit/audit-log.js';
import type { IncidentRecord } from '../../../src/incidents/types.js';
import { startAgentProcess } from '../cli.js';
import { FakeSlack } from '../fake-slack.js';
import { killIfPresent, pidsIn, removeCgroupTree, slackText, Watched } from './scenario.js';

/**
 * Issue 14, replayed safely: several independent jobs (copies of one script, each its own process tree) grow
 * together past a hard-limited sandbox cgroup that the agent's guard watches as its machine. The guard must
 * stop as many as needed, one at a time, until the sandbox is back under the recovered line, in one incident;
 * a protected bystander lives in the sandbox throughout. Everything started here is stopped by PID at the end.
 */

export interface IncidentJob {
  readonly name: string;
  /** MiB added every `stepSeconds`. */
  readonly stepMiB: number;
  readonly pid: number;
  readonly childPid: number;
  readonly aliveAfter: boolean;
  /** The signal that ended it, if it ended. */
  readonly endedBy?: string | null;
}

/**
 * `together`: four jobs grow at once; the guard works them off in one go. `staggered`: two jobs grow; after the
 * guard's first victim the sandbox goes under the recovered line (measured here), then a third, faster job is
 * started and takes it past the guard line again — within `remediation.incident.close_after`, so the same
 * incident must continue (issue 14: one incident for the whole sequence).
 */
export type IncidentScenario = 'together' | 'staggered';

export interface IncidentReplayResult {
  readonly scenario: IncidentScenario;
  /** remediation.incident.close_after in the agent's config (ms), when set. */
  readonly closeAfterMs?: number;
  /** staggered: the sandbox's used ratio the test saw under the recovered line between the two crossings. */
  readonly dipBetween?: number;
  readonly limitBytes: number;
  readonly recoveredBelow: number;
  readonly guardLine: number;
  readonly jobs: readonly IncidentJob[];
  readonly bystanderAliveAfter: boolean;
  readonly bystanderPid: number;
  readonly audit: readonly AuditEntry[];
  readonly incidents: readonly IncidentRecord[];
  readonly incidentReports: readonly string[];
  readonly slack: readonly string[];
  /** The sandbox's working set / limit, read by the test right after the incident closed. */
  readonly usedRatioAfter: number;
  readonly agentLog: string;
}

const HERE = fileURLToPath(new URL('.', import.meta.url));
const V1_ROOT = '/sys/fs/cgroup';
const MiB = 1024 * 1024;

function workingSetRatio(dir: string): number {
  const usage = Number(readFileSync(join(dir, 'memory.usage_in_bytes'), 'utf8'));
  const limit = Number(readFileSync(join(dir, 'memory.limit_in_bytes'), 'utf8'));
  let inactive = 0;
  for (const line of readFileSync(join(dir, 'memory.stat'), 'utf8').split('\n')) {
    const [k, v] = line.split(' ');
    if (k === 'total_inactive_file') inactive = Number(v);
  }
  return Math.max(0, usage - inactive) / limit;
}

function parseCloseAfter(text: string): number {
  const m = /^(\d+)s$/.exec(text);
  if (!m) throw new Error(`close_after ${text}: this replay writes it in seconds`);
  return Number(m[1]) * 1000;
}

export async function runIncidentReplay(
  o: { readonly log?: (line: string) => void; readonly limitMiB?: number; readonly scenario?: IncidentScenario; readonly closeAfter?: string | null } = {},
): Promise<IncidentReplayResult> {
  const log = o.log ?? (() => undefined);
  const limitMiB = o.limitMiB ?? 768;
  const scenario = o.scenario ?? 'together';
  // The hold after recovery: long enough (staggered) for the third job to take the sandbox past the line again;
  // short (together) so the test does not wait for nothing. `null`: the key is left out (the shipped default).
  const closeAfter = o.closeAfter === undefined ? (scenario === 'staggered' ? '30s' : '3s') : o.closeAfter;
  const tmp = mkdtempSync(join(tmpdir(), 'headroom-incident-replay-'));
  const name = `headroom-incident-${process.pid}`;
  const sandbox = `/${name}`;
  const memDir = join(V1_ROOT, 'memory', name);
  const started: Watched[] = [];
  let fakeSlack: FakeSlack | undefined;
  const guardLine = 0.1;
  // staggered: one victim brings the sandbox under the line (the survivor and the overhead hold ~40 %).
  const recoveredBelow = scenario === 'staggered' ? 0.6 : 0.4;
  try {
    mkdirSync(memDir);
    writeFileSync(join(memDir, 'memory.limit_in_bytes'), String(limitMiB * MiB));
    if (existsSync(join(memDir, 'memory.memsw.limit_in_bytes'))) writeFileSync(join(memDir, 'memory.memsw.limit_in_bytes'), String(limitMiB * MiB));
    const procsFile = join(memDir, 'cgroup.procs');
    const inSandbox = (args: string[]) => spawn('/bin/sh', ['-c', 'echo $$ > "$1" && shift && exec "$@"', 'sh', procsFile, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });

    // The bystander: protected by remediation.protect (it must survive, whatever the ranking says).
    const bystander = new Watched('bystander', inSandbox(['python3', join(HERE, 'standin_sshd.py')]));
    started.push(bystander);
    await bystander.waitFor(/^ready (\d+)$/, 15_000);

    fakeSlack = await FakeSlack.start();
    const slackUrlFile = join(tmp, 'slack-url');
    writeFileSync(slackUrlFile, fakeSlack.url, { mode: 0o600 });
    const stateDir = join(tmp, 'state');
    const config = {
      agent: { listen: '127.0.0.1:0' },
      remediation: {
        state_dir: stateDir,
        kill_grace: '3s',
        min_victim_size: '32M',
        // The Alertmanager path's limits: the guard's incident must not be refused by them.
        cooldown: '10m',
        actions_per_window: 1,
        protect: { cmdline: ['standin_sshd\\.py'] },
        recovered: { host_used_below: recoveredBelow, cgroup_used_below: recoveredBelow },
        ...(closeAfter !== null ? { incident: { close_after: closeAfter } } : {}),
      },
      notify: { state_dir: join(tmp, 'notify'), slack: { webhook_url_file: slackUrlFile }, retry: { initial_backoff: '200ms', max_backoff: '2s' } },
      guard: { enabled: true, watch_cgroup: sandbox, available_below: guardLine, sustain: '200ms' },
    };
    const configFile = join(tmp, 'headroom.yml');
    writeFileSync(configFile, dump(config));
    const agent = await startAgentProcess(['--config', configFile]);
    const agentProc = new Watched('agent', agent.child);
    started.push(agentProc);
    log(`sandbox ${sandbox} limit ${limitMiB} MiB; agent ${agent.url} (pid ${agent.child.pid}); guard line ${guardLine * 100} % available, recovered below ${recoveredBelow * 100} % used`);

    const jobs: Array<{ name: string; stepMiB: number; w: Watched; pid: number; childPid: number }> = [];
    const startJob = async (spec: { name: string; stepMiB: number; capMiB: number }): Promise<void> => {
      const w = new Watched(spec.name, inSandbox(['python3', join(HERE, 'incident_job.py'), spec.name, String(spec.stepMiB), '0.2', String(spec.capMiB), '8']));
      started.push(w);
      const m = await w.waitFor(/^pid (\d+) child (\d+)$/, 15_000);
      jobs.push({ ...spec, w, pid: Number(m[1]), childPid: Number(m[2]) });
      log(`${spec.name} pid ${m[1]} (+${spec.stepMiB} MiB / 0.2 s up to ${spec.capMiB} MiB)`);
    };
    const auditPath = join(stateDir, 'audit.jsonl');
    let dipBetween: number | undefined;
    if (scenario === 'together') {
      // Four copies of one script, each its own tree, growing at different rates (so the ranking order is known).
      for (const s of [
        { name: 'job-a', stepMiB: 4, capMiB: 240 },
        { name: 'job-b', stepMiB: 3, capMiB: 240 },
        { name: 'job-c', stepMiB: 2, capMiB: 240 },
        { name: 'job-d', stepMiB: 1, capMiB: 240 },
      ]) await startJob(s);
    } else {
      // job-a fills up fast to 420 MiB, job-b slowly to 250 MiB: together they cross the guard line (~691 MiB);
      // stopping job-a alone brings the sandbox under the recovered line (60 %, ~461 MiB) ...
      await startJob({ name: 'job-a', stepMiB: 5, capMiB: 420 });
      await startJob({ name: 'job-b', stepMiB: 2, capMiB: 250 });
      for (const deadline = Date.now() + 120_000; ; await sleep(100)) {
        const audit = existsSync(auditPath) ? readAuditLog(auditPath) : [];
        if (audit.some((e) => e.event === 'action')) break;
        if (Date.now() > deadline) throw new Error(`no first action within 120 s; agent log: ${agent.logs().slice(-4000)}`);
      }
      for (const deadline = Date.now() + 30_000; ; await sleep(100)) {
        const r = workingSetRatio(memDir);
        if (r < recoveredBelow) {
          dipBetween = r;
          break;
        }
        if (Date.now() > deadline) throw new Error(`the sandbox did not go under the recovered line after the first victim (${(r * 100).toFixed(1)} % used)`);
      }
      log(`after the first victim the sandbox is at ${((dipBetween ?? 0) * 100).toFixed(1)} % used, under the recovered line; starting job-c`);
      // ... then job-c, the fastest, takes it past the guard line again, within close_after: the same incident.
      await startJob({ name: 'job-c', stepMiB: 8, capMiB: 420 });
    }
    log(`jobs ${jobs.map((j) => `${j.name} pid ${j.pid}`).join(', ')}; bystander pid ${bystander.child.pid}`);

    // Wait for the guard's incident to close (its audit line), bounded.
    let audit: AuditEntry[] = [];
    let closed: AuditEntry | undefined;
    for (const deadline = Date.now() + 150_000; closed === undefined; await sleep(100)) {
      audit = existsSync(auditPath) ? readAuditLog(auditPath) : [];
      // The incident line that follows the last action (staggered: only once the third job was stopped too).
      const lastAction = audit.findLastIndex((e) => e.event === 'action');
      const actions = audit.filter((e) => e.event === 'action').length;
      closed = scenario === 'staggered' && actions < 2 ? undefined : audit.find((e, i) => e.event === 'incident' && i > lastAction);
      if (closed === undefined && Date.now() > deadline) throw new Error(`no incident closed within 150 s; audit: ${JSON.stringify(audit).slice(-3000)}; agent log: ${agent.logs().slice(-4000)}`);
      if (!agentProc.running) throw new Error(`the agent exited: ${agent.logs().slice(-4000)}`);
    }
    const usedRatioAfter = workingSetRatio(memDir);
    log(`incident closed (${closed.reasonCode}); sandbox at ${(usedRatioAfter * 100).toFixed(1)} % used`);
    // The summary notification reaches Slack.
    for (const deadline = Date.now() + 30_000; !fakeSlack.delivered().some((b) => slackText(b).startsWith('[incident]')); await sleep(200)) {
      if (Date.now() > deadline) throw new Error(`no incident summary reached Slack; got: ${fakeSlack.delivered().map(slackText).join(' | ')}`);
    }
    await sleep(500);
    audit = readAuditLog(auditPath);
    const incidentsDir = join(stateDir, 'incidents');
    const index = join(incidentsDir, 'index.jsonl');
    const incidents = existsSync(index) ? readFileSync(index, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as IncidentRecord) : [];
    const incidentReports = existsSync(incidentsDir) ? readdirSync(incidentsDir).filter((f) => f.endsWith('.md')).map((f) => readFileSync(join(incidentsDir, f), 'utf8')) : [];
    return {
      scenario,
      ...(closeAfter !== null ? { closeAfterMs: parseCloseAfter(closeAfter) } : {}),
      ...(dipBetween !== undefined ? { dipBetween } : {}),
      limitBytes: limitMiB * MiB,
      recoveredBelow,
      guardLine,
      jobs: jobs.map((j) => ({ name: j.name, stepMiB: j.stepMiB, pid: j.pid, childPid: j.childPid, aliveAfter: j.w.running, endedBy: j.w.running ? undefined : j.w.child.signalCode })),
      bystanderAliveAfter: bystander.running,
      bystanderPid: bystander.child.pid ?? 0,
      audit,
      incidents,
      incidentReports,
      slack: fakeSlack.delivered().map(slackText),
      usedRatioAfter,
      agentLog: agent.logs(),
    };
  } finally {
    for (const w of started.reverse()) await w.stop();
    for (let i = 0; i < 20; i++) {
      const left = pidsIn(memDir);
      if (left.length === 0) break;
      for (const pid of left) killIfPresent(pid);
      await sleep(100);
    }
    removeCgroupTree(memDir);
    await fakeSlack?.close();
    rmSync(tmp, { recursive: true, force: true });
  }
}
