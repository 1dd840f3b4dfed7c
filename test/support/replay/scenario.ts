import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { dump, load } from 'js-yaml';
import { readAuditLog, type AuditEntry } from '../../../src/audit/audit-log.js';
import { renderAlertmanagerConfig, renderPrometheusConfig } from '../../../src/stack/config.js';
import { findOnPath, STACK_BINARIES } from '../../../src/stack/install.js';
import { CLI, startAgentProcess } from '../cli.js';
import { FakeSlack } from '../fake-slack.js';

/**
 * The crisis of 2025-12-12, replayed safely: a sandbox cgroup with a hard limit stands in for the 62 GB host,
 * a protected stand-in for sshd runs inside it, and a "training job" started through `headroom run` grows
 * past 80 % and 95 % of the sandbox. Either the Prometheus path (agent → Prometheus rules → Alertmanager →
 * receiver) or the local guard must stop the job's whole process tree while the stand-in sshd keeps
 * answering. Everything started here is stopped by PID at the end, pass or fail; the sandbox is removed.
 */

export type ReplayPath = 'prometheus' | 'guard';

export interface ReplayOptions {
  readonly path: ReplayPath;
  /** The sandbox's hard limit (the "machine"); ≤ 1 GiB on shared machines. */
  readonly limitMiB?: number;
  /** Progress lines (the test prints them). */
  readonly log?: (line: string) => void;
  /** Measure the agent's idle CPU over this long before the job starts (the benchmark; 0 = skip). */
  readonly idleSampleMs?: number;
  /** Prometheus path: the warning alert to wait for in Slack before the job grows on (default HeadroomCgroupMemoryHigh). */
  readonly warningAlert?: string;
}

export interface ReplayResult {
  readonly path: ReplayPath;
  /** The job crossed the critical line (95 % for the Prometheus path, the guard threshold for the guard). */
  readonly crossingAtMs: number;
  readonly actionStartedAtMs: number;
  readonly crossingToActionMs: number;
  /** When `headroom run` saw its job end. */
  readonly jobEndedAtMs: number;
  readonly freedBytes?: number;
  readonly action: AuditEntry;
  readonly audit: readonly AuditEntry[];
  readonly runExit: { readonly code: number | null; readonly signal: string | null; readonly stderr: string };
  readonly jobPids: readonly number[];
  readonly jobPidsAliveAfter: readonly number[];
  readonly pings: { readonly sent: number; readonly failed: number; readonly maxLatencyMs: number };
  readonly standInAliveAfter: boolean;
  readonly slack: readonly string[];
  readonly incidentReports: readonly string[];
  readonly sandbox: string;
  /** The agent's log lines (JSON), for diagnosis. */
  readonly agentLog: string;
  /** The agent's CPU use in cores (CPU seconds per wall second): idle before the job, and during the incident. */
  readonly agentCpu: { readonly idleCores?: number; readonly incidentCores: number };
  /** The kernel's OOM kills in the sandbox (memory.oom_control oom_kill) when the job had ended: 0 = headroom acted first. */
  readonly sandboxOomKills: number | undefined;
}

/** utime + stime of a process, in seconds (CLK_TCK 100). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const HERE = fileURLToPath(new URL('.', import.meta.url));
const V1_ROOT = '/sys/fs/cgroup';
const MiB = 1024 * 1024;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A child whose stdout lines are kept and can be awaited. */
export class Watched {
  readonly lines: string[] = [];
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
  private waiters: Array<() => void> = [];
  constructor(readonly name: string, readonly child: ChildProcess) {
    let buffered = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const parts = buffered.split('\n');
      buffered = parts.pop() ?? '';
      this.lines.push(...parts);
      for (const w of this.waiters.splice(0)) w();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString();
    });
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        for (const w of this.waiters.splice(0)) w();
        resolve({ code, signal });
      });
    });
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolves with the first line matching `re` (bounded); rejects if the process exits first. */
  async waitFor(re: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (const line of this.lines) {
        const m = re.exec(line);
        if (m) return m;
      }
      if (!this.running) throw new Error(`${this.name} exited before printing ${re}; stderr: ${this.stderr.slice(-2000)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.name}: no line matching ${re} within ${timeoutMs} ms; stdout: ${this.lines.slice(-5).join(' | ')}`);
      await Promise.race([new Promise<void>((resolve) => this.waiters.push(resolve)), sleep(Math.min(left, 500))]);
    }
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const done = await Promise.race([this.exited.then(() => true), sleep(5000).then(() => false)]);
    if (!done && this.running) {
      this.child.kill('SIGKILL');
      await Promise.race([this.exited, sleep(5000)]);
    }
  }
}

/** Pings the stand-in sshd every 200 ms on one TCP connection; a reply later than 1 s is a failure. */
class Pinger {
  sent = 0;
  failed = 0;
  maxLatencyMs = 0;
  private stopped = false;
  private readonly loop: Promise<void>;
  constructor(port: number) {
    this.loop = this.run(port);
  }
  private async run(port: number): Promise<void> {
    let socket: Socket | undefined;
    let pending: ((ok: boolean) => void) | undefined;
    const open = (): Promise<Socket> =>
      new Promise((resolve, reject) => {
        const s = connect(port, '127.0.0.1', () => resolve(s));
        s.once('error', reject);
        s.on('data', () => pending?.(true));
        s.on('close', () => pending?.(false));
      });
    while (!this.stopped) {
      const started = performance.now();
      this.sent += 1;
      let ok: boolean;
      try {
        socket ??= await open();
        const s = socket;
        ok = await new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(false), 1000);
          pending = (v) => {
            clearTimeout(timer);
            resolve(v);
          };
          s.write('ping\n');
        });
      } catch {
        ok = false;
      }
      pending = undefined;
      const latency = performance.now() - started;
      this.maxLatencyMs = Math.max(this.maxLatencyMs, latency);
      if (!ok) {
        this.failed += 1;
        socket?.destroy();
        socket = undefined;
      }
      await sleep(Math.max(0, 200 - latency));
    }
    socket?.destroy();
  }
  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }
}

export function pidsIn(dir: string): number[] {
  const out: number[] = [];
  if (!existsSync(dir)) return out;
  const walk = (d: string): void => {
    const procs = join(d, 'cgroup.procs');
    if (existsSync(procs)) {
      for (const line of readFileSync(procs, 'utf8').split('\n')) if (line.trim() !== '') out.push(Number(line));
    }
    for (const entry of readdirSync(d, { withFileTypes: true })) if (entry.isDirectory()) walk(join(d, entry.name));
  };
  walk(dir);
  return out;
}

export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** SIGKILL to a process this replay started (found in its own sandbox cgroup); gone already is fine. */
export function killIfPresent(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

/** Removes a cgroup directory tree bottom-up (its processes must be gone). */
export function removeCgroupTree(dir: string): void {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory()) removeCgroupTree(join(dir, entry.name));
  rmdirSync(dir);
}

export async function runCrisisReplay(opts: ReplayOptions): Promise<ReplayResult> {
  const log = opts.log ?? (() => undefined);
  const limitMiB = opts.limitMiB ?? 640;
  const tmp = mkdtempSync(join(tmpdir(), `headroom-replay-${opts.path}-`));
  const name = `headroom-replay-${process.pid}-${opts.path}`;
  const sandbox = `/${name}`;
  const memDir = join(V1_ROOT, 'memory', name);
  const started: Watched[] = [];
  let fakeSlack: FakeSlack | undefined;
  let pinger: Pinger | undefined;
  try {
    // 1. The sandbox: the replay's "machine", with a hard limit (memory and memory+swap).
    mkdirSync(memDir);
    writeFileSync(join(memDir, 'memory.limit_in_bytes'), String(limitMiB * MiB));
    if (existsSync(join(memDir, 'memory.memsw.limit_in_bytes'))) writeFileSync(join(memDir, 'memory.memsw.limit_in_bytes'), String(limitMiB * MiB));
    const procsFile = join(memDir, 'cgroup.procs');

    // 2. The stand-in sshd, inside the sandbox, and a pinger that checks it answers throughout.
    const sshd = new Watched(
      'stand-in sshd',
      spawn('/bin/sh', ['-c', 'echo $$ > "$1" && shift && exec "$@"', 'sh', procsFile, 'python3', join(HERE, 'standin_sshd.py')], { stdio: ['ignore', 'pipe', 'pipe'] }),
    );
    started.push(sshd);
    const sshdPort = Number((await sshd.waitFor(/^ready (\d+)$/, 15_000))[1]);
    pinger = new Pinger(sshdPort);
    log(`sandbox ${sandbox} limit ${limitMiB} MiB; stand-in sshd pid ${sshd.child.pid} on port ${sshdPort}`);

    // 3. Slack stand-in, secrets, the agent's config.
    fakeSlack = await FakeSlack.start();
    const slackUrlFile = join(tmp, 'slack-url');
    writeFileSync(slackUrlFile, fakeSlack.url, { mode: 0o600 });
    const tokenFile = join(tmp, 'receiver-token');
    writeFileSync(tokenFile, randomBytes(24).toString('hex'), { mode: 0o600 });
    const stateDir = join(tmp, 'state');
    const guardThreshold = 0.04;
    const config = {
      agent: { listen: '127.0.0.1:0' },
      receiver: { enabled: opts.path === 'prometheus', auth: { token_file: tokenFile } },
      remediation: {
        state_dir: stateDir,
        kill_grace: '3s',
        min_victim_size: '64M',
        cooldown: '10s',
        // A cgroup alert names the sandbox; stop the largest process tree inside it, never the whole cgroup
        // (the stand-in sshd lives there too).
        actions: { cgroup: 'stop_process_tree' },
        // One job, no re-crossing to wait for: the guard's incident closes (report, summary) 2 s after recovery.
        incident: { close_after: '2s' },
      },
      notify: { state_dir: join(tmp, 'notify'), slack: { webhook_url_file: slackUrlFile }, retry: { initial_backoff: '200ms', max_backoff: '2s' } },
      guard: { enabled: opts.path === 'guard', watch_cgroup: sandbox, available_below: guardThreshold, sustain: '200ms' },
      run: { cgroup_parent: `${sandbox}/headroom.slice`, memory_max: '2G', swap_max: 0, kill_grace: '3s' },
    };
    const configFile = join(tmp, 'headroom.yml');
    writeFileSync(configFile, dump(config));
    const agent = await startAgentProcess(['--config', configFile]);
    const agentProc = new Watched('agent', agent.child);
    started.push(agentProc);
    const agentUrl = agent.url;
    log(`agent ${agentUrl} (pid ${agent.child.pid}), ${opts.path} path`);

    // 4. The Prometheus path: the repo's own prometheus.yml, rules and alertmanager.yml, with short intervals.
    if (opts.path === 'prometheus') {
      const repo = fileURLToPath(new URL('../../../', import.meta.url));
      const promBin = findOnPath(STACK_BINARIES.prometheus.names, process.env.PATH);
      const amBin = findOnPath(STACK_BINARIES.alertmanager.names, process.env.PATH);
      if (promBin === undefined || amBin === undefined) throw new Error('prometheus / alertmanager not installed: run scripts/install-deps.sh');
      const [promPort, amPort, amClusterPort] = [await freePort(), await freePort(), await freePort()];
      const promCfg = renderPrometheusConfig(readFileSync(join(repo, 'prometheus', 'prometheus.yml'), 'utf8'), {
        configDir: join(repo, 'prometheus'),
        agentTargets: [new URL(agentUrl).host],
        prometheusTarget: `127.0.0.1:${promPort}`,
        alertmanagerTarget: `127.0.0.1:${amPort}`,
        agentScrapeInterval: '1s',
        evaluationInterval: '1s',
      });
      const am = load(renderAlertmanagerConfig(readFileSync(join(repo, 'alerting', 'alertmanager.yml'), 'utf8'), { agentUrl, tokenFile })) as {
        route: { group_wait?: string; group_interval?: string; routes?: Array<{ receiver: string; matchers?: string[]; group_wait?: string; group_interval?: string }> };
        receivers: Array<{ name: string }>;
      };
      // The agent exports every cgroup of this shared machine. Only alerts about this replay's sandbox may reach
      // its receiver: a critical alert about someone else's cgroup (another replay's sandbox, a test's hog)
      // must never make this agent stop their processes, nor stand in for this replay's own warning.
      const mine = `${sandbox.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(/.*)?`;
      am.receivers.push({ name: 'replay-elsewhere' });
      am.route.routes = [{ receiver: 'replay-elsewhere', matchers: [`cgroup!~"${mine}"`] }, ...(am.route.routes ?? [])];
      // Alertmanager's waits are intervals too: shorten them like the scrape and evaluation intervals.
      for (const r of [am.route, ...(am.route.routes ?? [])]) {
        if (r.group_wait !== undefined && r.group_wait !== '0s') r.group_wait = '1s';
        r.group_interval = '5s';
      }
      writeFileSync(join(tmp, 'prometheus.yml'), promCfg);
      writeFileSync(join(tmp, 'alertmanager.yml'), dump(am));
      const amProc = new Watched(
        'alertmanager',
        spawn(amBin, [
          `--config.file=${join(tmp, 'alertmanager.yml')}`,
          `--storage.path=${join(tmp, 'am-data')}`,
          `--web.listen-address=127.0.0.1:${amPort}`,
          `--cluster.listen-address=127.0.0.1:${amClusterPort}`,
          '--cluster.peer-timeout=1s',
        ], { stdio: ['ignore', 'pipe', 'pipe'] }),
      );
      started.push(amProc);
      const promProc = new Watched(
        'prometheus',
        spawn(promBin, [
          `--config.file=${join(tmp, 'prometheus.yml')}`,
          `--storage.tsdb.path=${join(tmp, 'prom-data')}`,
          `--web.listen-address=127.0.0.1:${promPort}`,
        ], { stdio: ['ignore', 'pipe', 'pipe'] }),
      );
      started.push(promProc);
      for (const [what, url, proc] of [['alertmanager', `http://127.0.0.1:${amPort}/-/ready`, amProc], ['prometheus', `http://127.0.0.1:${promPort}/-/ready`, promProc]] as const) {
        const deadline = Date.now() + 30_000;
        for (;;) {
          const ok = await fetch(url).then((r) => r.ok, () => false);
          if (ok) break;
          if (!proc.running || Date.now() > deadline) throw new Error(`${what} did not become ready: ${proc.stderr.slice(-2000)}`);
          await sleep(250);
        }
      }
      log(`prometheus :${promPort} and alertmanager :${amPort} ready`);
    }

    const agentPid = agent.child.pid ?? 0;
    let idleCores: number | undefined;
    if ((opts.idleSampleMs ?? 0) > 0) {
      const cpu0 = cpuSeconds(agentPid);
      await sleep(opts.idleSampleMs);
      idleCores = (cpuSeconds(agentPid) - cpu0) / ((opts.idleSampleMs ?? 1) / 1000);
    }

    // 5. The training job, through `headroom run`, in <sandbox>/headroom.slice/.
    const incidentCpu0 = cpuSeconds(agentPid);
    const incidentStart = Date.now();
    const holds = opts.path === 'prometheus' ? '0.85,0.975' : '0.975';
    const criticalMark = opts.path === 'prometheus' ? 0.95 : 1 - guardThreshold;
    const reports = `0.8,0.95,${1 - guardThreshold}`;
    const run = new Watched(
      'headroom run',
      spawn(process.execPath, [CLI, 'run', '--config', configFile, '--name', 'train', '--', 'python3', join(HERE, 'growing_job.py'), memDir, holds, reports, '8', '0.1', '2', '32'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    started.push(run);
    const jobPid = Number((await run.waitFor(/^pid (\d+)$/, 20_000))[1]);
    const jobPids = new Set<number>([jobPid]);
    const trackJob = (): void => {
      for (const pid of pidsIn(join(memDir, 'headroom.slice'))) jobPids.add(pid);
    };
    log(`job pid ${jobPid}`);

    if (opts.path === 'prometheus') {
      await run.waitFor(/^holding 0\.8/, 60_000);
      trackJob();
      const warningAlert = opts.warningAlert ?? 'HeadroomCgroupMemoryHigh';
      log(`job holds above 80 %: waiting for the ${warningAlert} warning to reach Slack`);
      const warnDeadline = Date.now() + 180_000;
      // The specific alert: another warning (a prediction, a process alert) may reach Slack first.
      while (!fakeSlack.delivered().some((b) => slackText(b).startsWith('[warning]') && slackText(b).includes(warningAlert))) {
        if (Date.now() > warnDeadline) throw new Error(`no ${warningAlert} warning reached Slack within 180 s; got: ${fakeSlack.delivered().map(slackText).join(' | ')}`);
        if (!run.running) throw new Error(`the job ended before the warning: ${run.stderr.slice(-2000)}`);
        await sleep(500);
      }
      log('warning delivered; the job grows past 95 %');
      process.kill(jobPid, 'SIGUSR1');
    }
    const crossing = await run.waitFor(new RegExp(`^crossed ${criticalMark} (\\d+)$`), 60_000);
    const crossingAtMs = Number(crossing[1]);
    trackJob();
    log(`crossed ${criticalMark} at ${new Date(crossingAtMs).toISOString()}; waiting for headroom to act`);
    const ended = await Promise.race([run.exited, sleep(opts.path === 'prometheus' ? 120_000 : 30_000).then(() => undefined)]);
    if (ended === undefined) throw new Error(`the job was not stopped in time; agent log: ${agent.logs().slice(-4000)}`);
    const jobEndedAtMs = Date.now();
    const sandboxOomKills = oomKills(memDir);
    const incidentCores = (cpuSeconds(agentPid) - incidentCpu0) / ((jobEndedAtMs - incidentStart) / 1000);
    log(`headroom run exited ${ended.code ?? ended.signal}`);

    // The pipeline writes its audit entry once it has confirmed the tree is gone and re-read memory.
    const auditPath = join(stateDir, 'audit.jsonl');
    let audit: AuditEntry[] = [];
    let action: AuditEntry | undefined;
    for (const deadline = Date.now() + 30_000; action === undefined; await sleep(200)) {
      audit = existsSync(auditPath) ? readAuditLog(auditPath) : [];
      action = audit.find((e) => e.event === 'action');
      if (action === undefined && Date.now() > deadline) throw new Error(`no action in the audit log: ${JSON.stringify(audit)}; agent log: ${agent.logs().slice(-4000)}`);
    }
    const actionStartedAtMs = Date.parse(typeof action.actionStartedAt === 'string' ? action.actionStartedAt : action.ts);

    if (opts.path === 'prometheus') {
      const deadline = Date.now() + 120_000;
      while (!(fakeSlack.delivered().some((b) => slackText(b).startsWith('[action]')) && fakeSlack.delivered().some((b) => slackText(b).startsWith('[resolved]')))) {
        if (Date.now() > deadline) throw new Error(`action and resolved did not both reach Slack; got: ${fakeSlack.delivered().map(slackText).join(' | ')}`);
        await sleep(500);
      }
    } else {
      // The action message, then (close_after after recovery) the incident's summary: its report is written.
      const deadline = Date.now() + 30_000;
      while (!(fakeSlack.delivered().some((b) => slackText(b).startsWith('[action]')) && fakeSlack.delivered().some((b) => slackText(b).startsWith('[incident]')))) {
        if (Date.now() > deadline) throw new Error(`the action and the incident summary did not both reach Slack; got: ${fakeSlack.delivered().map(slackText).join(' | ')}`);
        await sleep(250);
      }
    }
    await pinger.stop();
    const incidentsDir = join(stateDir, 'incidents');
    const incidentReports = existsSync(incidentsDir)
      ? readdirSync(incidentsDir).filter((f) => f.endsWith('.md')).map((f) => readFileSync(join(incidentsDir, f), 'utf8'))
      : [];
    return {
      path: opts.path,
      crossingAtMs,
      actionStartedAtMs,
      crossingToActionMs: actionStartedAtMs - crossingAtMs,
      jobEndedAtMs,
      freedBytes: typeof action.freedBytes === 'number' ? action.freedBytes : undefined,
      action,
      audit,
      runExit: { code: ended.code, signal: ended.signal, stderr: run.stderr },
      jobPids: [...jobPids],
      jobPidsAliveAfter: [...jobPids].filter(alive),
      pings: { sent: pinger.sent, failed: pinger.failed, maxLatencyMs: Math.round(pinger.maxLatencyMs) },
      standInAliveAfter: sshd.running,
      slack: fakeSlack.delivered().map(slackText),
      incidentReports,
      sandbox,
      agentLog: agent.logs(),
      agentCpu: { ...(idleCores === undefined ? {} : { idleCores }), incidentCores },
      sandboxOomKills,
    };
  } finally {
    await pinger?.stop();
    for (const w of started.reverse()) await w.stop();
    // Anything still in the sandbox was started by this replay: kill it by PID, then remove the cgroups.
    for (let i = 0; i < 20; i++) {
      const left = pidsIn(memDir);
      if (left.length === 0) break;
      for (const pid of left) killIfPresent(pid);
      await sleep(100);
    }
    for (const hierarchy of ['memory', 'cpu', 'cpuacct']) removeCgroupTree(join(V1_ROOT, hierarchy, name));
    await fakeSlack?.close();
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** The notification text of a Slack webhook body ({text, blocks}). */
/** The oom_kill count of a v1 memory cgroup (undefined on kernels that do not report it). */
function oomKills(dir: string): number | undefined {
  const m = /^oom_kill (\d+)$/m.exec(readFileSync(join(dir, 'memory.oom_control'), 'utf8'));
  return m ? Number(m[1]) : undefined;
}

export function slackText(body: unknown): string {
  return typeof body === 'object' && body !== null && 'text' in body && typeof body.text === 'string' ? body.text : '';
}
