/**
 * The whole-machine crisis on the guest (2 GiB RAM + 1 GiB swap, real sshd): a job started without headroom
 * run grows 50 MiB/s toward 4 GiB, alone (Polars-like) or as a parent with DataLoader-like workers that all
 * grow. The host probes the guest once a second over ssh (5 s timeout); every probe also reads MemAvailable,
 * SwapFree and whether the job still lives, so the probes are the measurements. One arm = one fresh boot.
 */
import type { Guest } from './guest.js';

const MiB = 1024 * 1024;

export const ARMS = ['nothing', 'earlyoom', 'systemd-oomd', 'systemd-oomd-managed', 'nohang', 'headroom-guard', 'headroom-guard-min100m', 'headroom-alertmanager'] as const;
export type Arm = (typeof ARMS)[number];
export const SCENARIOS = ['single', 'workers', 'dozen'] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface ArmResult {
  readonly arm: Arm;
  readonly scenario: Scenario;
  readonly version: string;
  readonly probes: number;
  readonly failedProbes: number;
  /** Longest time between two answered probes (s). */
  readonly longestStallS: number;
  /** From the first probe with MemAvailable below 3 % of MemTotal (or swap in use) to the first with the job gone (s). */
  readonly thresholdToKillS?: number;
  readonly swapToKillS?: number;
  readonly jobStopped: boolean;
  /** Processes (pid comm) gone besides the job and its workers. */
  readonly otherKilled: readonly string[];
  readonly sshdSurvived: boolean;
  readonly kernelOomKills: number;
  readonly memAvailableAfterMiB?: number;
  readonly report: string;
  /** MemAvailable (MiB) at the first probe that saw the job gone, and at its lowest before. */
  readonly availAtGoneMiB?: number;
  readonly availLowestMiB?: number;
  /** The workers scenario: how many of the job's workers still lived 3 s after the parent was gone (0 = all died with it). */
  readonly workersLeft?: number;
  readonly workers?: number;
  /** Whether a person was told: the notifications that arrived (headroom-alertmanager: the Slack stand-in), or why none could. */
  readonly notified: string;
  /** headroom arms: what the agent did, from audit.jsonl (source/alert/outcome of each action). */
  readonly actions?: string;
  /** Written by bench:machine --out: the host's load average (1, 5, 15 min) when the arm's boot began. */
  readonly hostLoad?: string;
  /** The dozen scenario only: the jobs' count, how many were gone at the end of the window, when memory was safe again. */
  readonly dozen?: DozenResult;
}

export interface DozenResult {
  readonly jobs: number;
  readonly jobsStopped: number;
  /** From the first probe with MemAvailable below 3 % of MemTotal to the first with it at 10 % again (the guard's recovered line, used < 90 %). */
  readonly toSafetyS?: number;
  /** Probes with MemAvailable below 3 % of MemTotal. */
  readonly probesPastLine: number;
  /** headroom-guard*: the guard's actions, cooldown/rate refusals, incident lines and refusals by code in audit.jsonl; '-' otherwise. */
  readonly guard: string;
}

const SETUP: Record<Arm, string> = {
  nothing: 'true',
  earlyoom: 'systemctl start earlyoom && sleep 1 && systemctl is-active earlyoom',
  'systemd-oomd': 'systemctl unmask systemd-oomd.socket systemd-oomd.service && systemctl start systemd-oomd && systemctl is-active systemd-oomd',
  // The settings systemd-oomd's docs (and Fedora's systemd-oomd-defaults) give: swap-based kills on the root
  // slice, pressure-based kills (50 % for 20 s) on the slice the jobs run in.
  'systemd-oomd-managed':
    'systemctl unmask systemd-oomd.socket systemd-oomd.service && systemctl set-property -- -.slice ManagedOOMSwap=kill && ' +
    'systemctl set-property user.slice ManagedOOMMemoryPressure=kill ManagedOOMMemoryPressureLimit=50% && systemctl start systemd-oomd && systemctl is-active systemd-oomd',
  nohang: 'systemctl start nohang && sleep 1 && systemctl is-active nohang',
  'headroom-guard':
    'install -m 0644 /opt/headroom/deploy/systemd/headroom-agent.service /etc/systemd/system/ && mkdir -p /etc/headroom && ' +
    "printf 'remediation:\\n  state_dir: /var/lib/headroom\\n  protect_sshd: { enabled: true, memory_low: 64M }\\nguard:\\n  enabled: true\\n' > /etc/headroom/headroom.yml && " +
    'systemctl daemon-reload && systemctl start headroom-agent && ' +
    "for i in $(seq 1 120); do python3 -c 'import urllib.request; urllib.request.urlopen(\"http://127.0.0.1:9632/healthz\", timeout=2)' 2>/dev/null && exit 0; sleep 0.5; done; exit 1",
  // issue 14's guest configuration: the shipped unit and guard, remediation.min_victim_size: 100M (the default,
  // 1G, leaves no job of a few hundred MiB a candidate).
  'headroom-guard-min100m':
    'install -m 0644 /opt/headroom/deploy/systemd/headroom-agent.service /etc/systemd/system/ && mkdir -p /etc/headroom && ' +
    "printf 'remediation:\\n  state_dir: /var/lib/headroom\\n  min_victim_size: 100M\\n  protect_sshd: { enabled: true, memory_low: 64M }\\nguard:\\n  enabled: true\\n' > /etc/headroom/headroom.yml && " +
    'systemctl daemon-reload && systemctl start headroom-agent && ' +
    "for i in $(seq 1 120); do python3 -c 'import urllib.request; urllib.request.urlopen(\"http://127.0.0.1:9632/healthz\", timeout=2)' 2>/dev/null && exit 0; sleep 0.5; done; exit 1",
  // Prometheus + Alertmanager with the repo's configs, the receiver on, the guard off (test/machine/guest/alertmanager-arm.sh).
  'headroom-alertmanager': 'sh /opt/headroom/test/machine/guest/alertmanager-arm.sh',
};

const VERSION: Record<Arm, string> = {
  nothing: "uname -r | sed 's/^/kernel /'",
  earlyoom: "dpkg-query -W -f='earlyoom ${Version}' earlyoom",
  'systemd-oomd': "dpkg-query -W -f='systemd-oomd ${Version}' systemd-oomd",
  'systemd-oomd-managed': "dpkg-query -W -f='systemd-oomd ${Version}' systemd-oomd",
  nohang: "dpkg-query -W -f='nohang ${Version}' nohang",
  'headroom-guard': "node -p 'require(\"/opt/headroom/package.json\").version' | sed 's/^/headroom /'",
  'headroom-guard-min100m': "node -p 'require(\"/opt/headroom/package.json\").version' | sed 's/^/headroom /'",
  'headroom-alertmanager':
    "printf 'headroom %s, prometheus %s, alertmanager %s' \"$(node -p 'require(\"/opt/headroom/package.json\").version')\" " +
    "\"$(/opt/hostnode/prometheus --version 2>&1 | awk 'NR==1 {print $3}')\" \"$(/opt/hostnode/alertmanager --version 2>&1 | awk 'NR==1 {print $3}')\"",
};

/** Python lines that loop over the parsed lines of the guest's audit.jsonl as `e` (a missing file: none). */
const AUDIT_LINES_PY = `try:
    lines = open("/var/lib/headroom/audit.jsonl").read().splitlines()
except FileNotFoundError:
    lines = []
for l in lines:
    try:
        e = json.loads(l)
    except ValueError:
        continue
`;

/** The agent's actions in audit.jsonl, one "source/alert: outcome action" each (headroom arms). */
const AUDIT_ACTIONS = `python3 -c '
import json
out = []
${AUDIT_LINES_PY}    if e.get("event") == "action":
        out.append("%s/%s: %s %s" % (e.get("source"), e.get("alertName"), e.get("reasonCode"), e.get("action")))
print("; ".join(out) if out else "no action")
'`;

/** The Slack stand-in's requests (headroom-alertmanager): how many, and the first's time (guest ms). */
const SLACK_MESSAGES = `python3 -c '
import json
try:
    m = [json.loads(l) for l in open("/var/lib/hr-fake-slack/messages.jsonl") if l.strip()]
except FileNotFoundError:
    m = []
print(len(m), m[0]["t"] if m else "", (m[0]["text"][:80].replace(" ", "_") if m else ""))
'`;

/**
 * headroom arms: the agent's actions and refusals (audit.jsonl); for headroom-alertmanager also what the
 * alerting path saw (scrapes answered, which alerts fired when, webhooks sent: test/machine/guest/alerting-diag.py).
 */
async function whatHeadroomDid(guest: Guest, arm: Arm, startedGuestMs: number): Promise<string> {
  const actions = (await guest.run(AUDIT_ACTIONS, { timeoutMs: 60_000 })).stdout.trim();
  const refusals = (await guest.run(GUARD_AUDIT, { timeoutMs: 60_000 })).stdout.trim().split(' ')[3] ?? '?';
  const parts = [actions, `refusals: ${refusals}`];
  if (arm === 'headroom-alertmanager') {
    parts.push((await guest.run(`python3 /opt/headroom/test/machine/guest/alerting-diag.py ${startedGuestMs / 1000}`, { timeoutMs: 90_000 })).stdout.trim() || 'alerting-diag.py printed nothing');
  }
  return parts.join('; ');
}

/** "N Slack message(s), the first N s after the job started" (headroom-alertmanager) or why nobody is told. */
async function notifiedOf(guest: Guest, arm: Arm, startedGuestMs: number): Promise<string> {
  if (arm !== 'headroom-alertmanager') return arm.startsWith('headroom') ? 'no notifier configured' : 'no notifier';
  const [n = '0', first = ''] = (await guest.run(SLACK_MESSAGES, { timeoutMs: 60_000 })).stdout.trim().split(' ');
  if (n === '0') return 'no Slack message arrived';
  return `${n} Slack message(s), the first ${((Number(first) - startedGuestMs) / 1000).toFixed(0)} s after the job started`;
}

function procList(text: string): string[] {
  return text.trim().split('\n').map((l) => l.trim()).filter(Boolean);
}

/** What an arm notes about the guest before its job starts (to tell later what else went). */
interface ArmStart {
  readonly before: readonly string[];
  readonly sshdPid: string;
  readonly oomBefore: number;
}

const PS = 'ps --ppid 2 -p 2 --deselect -o pid=,comm=';

/** Starts the arm's peer (or nothing) on a fresh boot and notes the processes, sshd and the kernel's kill count. */
async function startArm(guest: Guest, arm: Arm): Promise<{ version: string; start: ArmStart }> {
  await guest.ok(SETUP[arm], { timeoutMs: 300_000 });
  const version = (await guest.ok(VERSION[arm])).trim();
  const before = procList(await guest.ok(PS));
  const sshdPid = (await guest.ok('systemctl show ssh -p MainPID --value')).trim();
  const oomBefore = Number((await guest.ok("dmesg | grep -c 'Killed process' || true")).trim());
  return { version, start: { before, sshdPid, oomBefore } };
}

/** The longest time between two answered probes (an answer counts when it came back, after its own latency). */
function longestStall(answered: readonly { readonly t: number; readonly ms: number }[]): number {
  let longest = 0;
  for (let i = 1; i < answered.length; i++) longest = Math.max(longest, (answered[i]?.t ?? 0) + (answered[i]?.ms ?? 0) / 1000 - (answered[i - 1]?.t ?? 0));
  return longest;
}

/**
 * After the window: whatever is left of the job is stopped (by its PIDs in the guest), so the next arm starts
 * clean; then what else went (not the job, not the agent the bench stopped, not short-lived helpers), whether
 * sshd is the same process, the kernel's OOM kills, MemAvailable, and the report the arm left.
 */
async function endArm(guest: Guest, arm: Arm, start: ArmStart, jobPids: readonly string[], agentStopped: string | undefined) {
  await guest.run(`kill -9 ${jobPids.join(' ')} 2>/dev/null; true`, { timeoutMs: 60_000 });
  await new Promise((r) => setTimeout(r, 2000));
  const after = new Set(procList((await guest.run(PS, { timeoutMs: 60_000 })).stdout));
  const jobSet = new Set(jobPids);
  const otherKilled = start.before.filter((p) => !after.has(p) && !jobSet.has(p.split(' ')[0] ?? '') && !stoppedByBench(agentStopped)(p) && !/ (ps|awk|sh|bash|sshd|sleep|kill|grep|cat|tr|dmesg|systemctl|\(udev-worker\))$/.test(p));
  const sshdNow = (await guest.run('systemctl show ssh -p MainPID --value', { timeoutMs: 60_000 })).stdout.trim();
  const oomAfter = Number((await guest.run("dmesg | grep -c 'Killed process' || true", { timeoutMs: 60_000 })).stdout.trim());
  const availAfter = Number((await guest.run("awk '/^MemAvailable/ {print $2 * 1024}' /proc/meminfo", { timeoutMs: 60_000 })).stdout.trim());
  let report = '-';
  if (arm.startsWith('headroom')) {
    const n = (await guest.run('ls /var/lib/headroom/incidents/*.md 2>/dev/null | wc -l', { timeoutMs: 60_000 })).stdout.trim();
    report = `${n} incident report(s)`;
  } else if (arm !== 'nothing') {
    const unit = arm.startsWith('systemd-oomd') ? 'systemd-oomd' : arm;
    const n = (await guest.run(`journalctl -u ${unit} --no-pager | grep -ciE 'kill|sending' || true`, { timeoutMs: 60_000 })).stdout.trim();
    report = `${n} journal line(s) about a kill`;
  }
  return {
    otherKilled,
    sshdSurvived: sshdNow === start.sshdPid,
    kernelOomKills: oomAfter - start.oomBefore,
    ...(Number.isFinite(availAfter) ? { memAvailableAfterMiB: Math.round(availAfter / 1024 / 1024) } : {}),
    report,
  };
}

export async function runCrisisArm(guest: Guest, arm: Arm, scenario: Scenario, log: (line: string) => void, limitMs = 240_000): Promise<ArmResult> {
  if (scenario === 'dozen') return runDozenArm(guest, arm, log);
  const { version, start } = await startArm(guest, arm);
  const memTotal = Number((await guest.ok("awk '/^MemTotal/ {print $2 * 1024}' /proc/meminfo")).trim());
  const workers = scenario === 'workers' ? 3 : 0;
  const [jobPid = '', startedGuest = '0'] = (await guest.ok(`nohup python3 /opt/headroom/test/machine/guest/grow.py 50 4096 ${workers} >/tmp/hog.out 2>&1 </dev/null & echo $!; date +%s%3N`)).trim().split('\n');
  await new Promise((r) => setTimeout(r, 1500));
  const jobPids = procList(await guest.ok(`echo ${jobPid}; cat /proc/${jobPid}/task/*/children 2>/dev/null | tr ' ' '\\n'`));
  const started = Date.now();
  const probes: { t: number; ok: boolean; ms: number; avail?: number; swapUsed?: number; alive?: boolean }[] = [];
  const probe = `awk '/^MemAvailable/ {a=$2} /^SwapTotal/ {t=$2} /^SwapFree/ {f=$2} END {print a*1024, (t-f)*1024}' /proc/meminfo; test -e /proc/${jobPid} && echo alive || echo gone`;
  while (Date.now() - started < limitMs) {
    const t0 = Date.now();
    const r = await guest.run(probe, { timeoutMs: 5000 });
    const [mem = '', state = ''] = r.stdout.trim().split('\n');
    const [avail, swapUsed] = mem.split(' ').map(Number);
    probes.push({ t: (t0 - started) / 1000, ok: r.code === 0, ms: r.ms, avail, swapUsed, alive: r.code === 0 ? state === 'alive' : undefined });
    if (r.code === 0 && state === 'gone') break;
    const wait = 1000 - (Date.now() - t0);
    if (wait > 0) await new Promise((res) => setTimeout(res, wait));
  }
  const answered = probes.filter((p) => p.ok);
  const longest = longestStall(answered);
  const gone = probes.find((p) => p.alive === false);
  const threshold = probes.find((p) => p.avail !== undefined && p.avail < 0.03 * memTotal);
  const swapIn = probes.find((p) => (p.swapUsed ?? 0) > 0);
  // Did every worker die with the parent? Looked at 3 s after the parent was seen gone.
  let workersLeft: number | undefined;
  if (workers > 0 && gone !== undefined) {
    await new Promise((r) => setTimeout(r, 3000));
    const workerPids = jobPids.filter((p) => p !== jobPid);
    workersLeft = procList((await guest.run(`for p in ${workerPids.join(' ')}; do test -e /proc/$p && echo $p; done; true`, { timeoutMs: 60_000 })).stdout).length;
  }
  const availSeen = probes.flatMap((p) => (p.avail !== undefined && Number.isFinite(p.avail) ? [p.avail] : []));
  const agentStopped = await closeHeadroom(guest, arm);
  const actions = arm.startsWith('headroom') ? await whatHeadroomDid(guest, arm, Number(startedGuest)) : undefined;
  const notified = await notifiedOf(guest, arm, Number(startedGuest));
  const end = await endArm(guest, arm, start, jobPids, agentStopped);
  const result: ArmResult = {
    arm,
    scenario,
    version,
    probes: probes.length,
    failedProbes: probes.length - answered.length,
    longestStallS: Number(longest.toFixed(1)),
    thresholdToKillS: gone !== undefined && threshold !== undefined ? Number((gone.t - threshold.t).toFixed(1)) : undefined,
    swapToKillS: gone !== undefined && swapIn !== undefined ? Number((gone.t - swapIn.t).toFixed(1)) : undefined,
    jobStopped: gone !== undefined,
    ...end,
    ...(gone?.avail !== undefined && Number.isFinite(gone.avail) ? { availAtGoneMiB: Math.round(gone.avail / MiB) } : {}),
    ...(availSeen.length > 0 ? { availLowestMiB: Math.round(Math.min(...availSeen) / MiB) } : {}),
    ...(workers > 0 ? { workers, ...(workersLeft !== undefined ? { workersLeft } : {}) } : {}),
    notified,
    ...(actions !== undefined ? { actions } : {}),
  };
  log(`${arm}/${scenario}: ${JSON.stringify(result)}`);
  return result;
}

const DOZEN_JOBS = 12;
const DOZEN_RATE_MIB_S = 5;
const DOZEN_MAX_MIB = 250;
const DOZEN_WINDOW_MS = 180_000;

/** What the guard wrote to audit.jsonl: actions, refusals for cooldown or the rate limit, incident lines. */
const GUARD_AUDIT = `python3 -c '
import json, collections
c = collections.Counter(); stamps = []
${AUDIT_LINES_PY}    ev = e.get("event"); code = e.get("reasonCode", "")
    if ev == "action":
        c["actions"] += 1; stamps.append(e.get("ts", ""))
    elif code in ("cooldown", "actions_per_window", "rate_limited"):
        c["cooldown"] += 1 + int((e.get("repeated") or {}).get("count", 0) if isinstance(e.get("repeated"), dict) else 0)
    if ev == "refusal":
        c["refusal:" + code] += 1 + int((e.get("repeated") or {}).get("count", 0) if isinstance(e.get("repeated"), dict) else 0)
    if ev == "incident":
        c["incidents"] += 1
other = ",".join(sorted(f"{k[8:]}={v}" for k, v in c.items() if k.startswith("refusal:")))
print(c["actions"], c["cooldown"], c["incidents"], other or "none")
'`;

export interface DozenProbe {
  /** Seconds since the jobs started. */
  readonly t: number;
  readonly ok: boolean;
  readonly ms: number;
  /** MemAvailable (bytes) and how many jobs lived, when the probe answered. */
  readonly avail?: number;
  readonly alive?: number;
}

export interface DozenRun {
  readonly memTotal: number;
  /** The guest's clock (ms) when the jobs were started. */
  readonly startedGuestMs: number;
  readonly jobPids: readonly string[];
  readonly probes: readonly DozenProbe[];
}

/** The job PIDs of `pids` that still run in the guest. */
export async function stillRunning(guest: Guest, pids: readonly string[]): Promise<string[]> {
  return procList((await guest.run(`for p in ${pids.join(' ')}; do test -e /proc/$p && echo $p; done; true`, { timeoutMs: 60_000 })).stdout);
}

/**
 * Starts the dozen jobs (below) and probes the guest once a second over ssh (5 s timeout) until the window
 * ends: 180 s, or every job gone, or growth over (60 s) and MemAvailable at ≥ 10 % of MemTotal for 15 s. Used by
 * the bench and by the guest lane's assertion of the guard (test/machine/machine.test.ts).
 */
export async function runDozen(guest: Guest): Promise<DozenRun> {
  const memTotal = Number((await guest.ok("awk '/^MemTotal/ {print $2 * 1024}' /proc/meminfo")).trim());
  const startedGuest = Number((await guest.ok('date +%s%3N')).trim());
  await guest.ok(
    `rm -rf /tmp/dozen && mkdir /tmp/dozen && for i in $(seq 1 ${DOZEN_JOBS}); do ` +
      `setsid -f sh -c 'echo $$ >/tmp/dozen/'$i'.pid; exec nohup python3 /opt/headroom/test/machine/guest/grow.py ${DOZEN_RATE_MIB_S} ${DOZEN_MAX_MIB} >/tmp/dozen/'$i'.out 2>&1 </dev/null'; done; ` +
      `for t in $(seq 1 50); do [ $(ls /tmp/dozen/*.pid 2>/dev/null | wc -l) -ge ${DOZEN_JOBS} ] && exit 0; sleep 0.1; done; exit 1`,
    { timeoutMs: 60_000 },
  );
  const jobPids = procList(await guest.ok('cat /tmp/dozen/*.pid'));
  const started = Date.now();
  const probes: DozenProbe[] = [];
  const probe = `awk '/^MemAvailable/ {print $2*1024}' /proc/meminfo; n=0; for p in ${jobPids.join(' ')}; do test -e /proc/$p && n=$((n+1)); done; echo $n`;
  let safeSince: number | undefined;
  while (Date.now() - started < DOZEN_WINDOW_MS) {
    const t0 = Date.now();
    const r = await guest.run(probe, { timeoutMs: 5000 });
    const [mem = '', alive = ''] = r.stdout.trim().split('\n');
    const p = { t: (t0 - started) / 1000, ok: r.code === 0, ms: r.ms, ...(r.code === 0 ? { avail: Number(mem), alive: Number(alive) } : {}) };
    probes.push(p);
    if (p.alive === 0) break;
    if (p.avail !== undefined && p.avail >= 0.1 * memTotal) safeSince ??= p.t;
    else if (p.ok) safeSince = undefined;
    if (safeSince !== undefined && p.t >= 60 && p.t - safeSince >= 15) break;
    const wait = 1000 - (Date.now() - t0);
    if (wait > 0) await new Promise((res) => setTimeout(res, wait));
  }
  return { memTotal, startedGuestMs: startedGuest, jobPids, probes };
}

/**
 * A dozen independent Python jobs (each its own session and process tree, started with setsid + nohup as
 * separate logins would start them: issue 14's "parallel feature testing") that grow together, 5 MiB/s each to
 * 250 MiB (3 000 MiB in all, more than 2 GiB RAM + 1 GiB swap hold beside the system). The window is fixed
 * (180 s) or ends early when every job is gone, or once growth is over (60 s) and MemAvailable has stayed at
 * 10 % or more for 15 s.
 */
/**
 * After the window, for the headroom arms: stop the agent. An incident is held open for
 * remediation.incident.close_after (90 s) after memory recovered, and written (report, incident line, summary)
 * when it closes; the agent's shutdown closes held incidents, so what is counted next is the whole incident.
 */
async function closeHeadroom(guest: Guest, arm: Arm): Promise<string | undefined> {
  if (!arm.startsWith('headroom')) return undefined;
  const agentPid = (await guest.run('systemctl show headroom-agent -p MainPID --value', { timeoutMs: 60_000 })).stdout.trim();
  await guest.run('systemctl stop headroom-agent; true', { timeoutMs: 120_000 });
  return agentPid;
}

/** The process list entries the bench itself stopped after the window (the agent it stopped: not "killed"). */
const stoppedByBench = (agentPid: string | undefined) => (entry: string): boolean => agentPid !== undefined && agentPid !== '0' && entry.split(' ')[0] === agentPid;

async function runDozenArm(guest: Guest, arm: Arm, log: (line: string) => void): Promise<ArmResult> {
  const { version, start } = await startArm(guest, arm);
  const { memTotal, startedGuestMs: startedGuest, jobPids, probes } = await runDozen(guest);
  const answered = probes.filter((p) => p.ok);
  const longest = longestStall(answered);
  const threshold = probes.find((p) => p.avail !== undefined && p.avail < 0.03 * memTotal);
  const safe = threshold === undefined ? undefined : probes.find((p) => p.t > threshold.t && p.avail !== undefined && p.avail >= 0.1 * memTotal);
  const stillAlive = (await stillRunning(guest, jobPids)).length;
  const agentStopped = await closeHeadroom(guest, arm);
  const guard = arm.startsWith('headroom') ? (await guest.run(GUARD_AUDIT, { timeoutMs: 60_000 })).stdout.trim() : '';
  const actions = arm === 'headroom-alertmanager' ? await whatHeadroomDid(guest, arm, startedGuest) : undefined;
  const notified = await notifiedOf(guest, arm, startedGuest);
  const end = await endArm(guest, arm, start, jobPids, agentStopped);
  let guardText = '-';
  if (arm.startsWith('headroom')) {
    const [actionCount = '?', cooldown = '?', incidents = '?', refusals = '?'] = guard.split(' ');
    guardText = `${actionCount} action(s), ${cooldown} cooldown/rate refusal(s), ${incidents} incident line(s); refusals by code: ${refusals}`;
  }
  const result: ArmResult = {
    arm,
    scenario: 'dozen',
    version,
    probes: probes.length,
    failedProbes: probes.length - answered.length,
    longestStallS: Number(longest.toFixed(1)),
    jobStopped: stillAlive < jobPids.length,
    ...end,
    notified,
    ...(actions !== undefined ? { actions } : {}),
    dozen: {
      jobs: jobPids.length,
      jobsStopped: jobPids.length - stillAlive,
      ...(threshold !== undefined && safe !== undefined ? { toSafetyS: Number((safe.t - threshold.t).toFixed(1)) } : {}),
      probesPastLine: probes.filter((p) => p.avail !== undefined && p.avail < 0.03 * memTotal).length,
      guard: guardText,
    },
  };
  log(`${arm}/dozen: ${JSON.stringify(result)}`);
  return result;
}

/** The dozen scenario's table. */
export function renderDozenTable(results: readonly ArmResult[]): string {
  const rows = [
    '| arm | version | host load | probes failed / sent | longest ssh stall | MemAvailable < 3 % → ≥ 10 % again | probes < 3 % | jobs stopped | others killed | kernel OOM kills | guard / receiver (audit.jsonl) | notified | report |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of results) {
    const d = r.dozen;
    if (d === undefined) continue;
    rows.push(
      `| ${r.arm} | ${r.version} | ${r.hostLoad?.split(' ')[0] ?? '?'} | ${r.failedProbes} / ${r.probes} | ${r.longestStallS} s | ${d.toSafetyS === undefined ? '–' : `${d.toSafetyS} s`} | ${d.probesPastLine} | ${d.jobsStopped} / ${d.jobs} | ${r.otherKilled.length === 0 ? 'none' : r.otherKilled.join(', ')}${r.sshdSurvived ? '' : ' (sshd restarted)'} | ${r.kernelOomKills} | ${d.guard}${r.actions === undefined ? '' : `; ${r.actions}`} | ${r.notified} | ${r.report} |`,
    );
  }
  return rows.join('\n');
}

/** The README table. */
export function renderTable(results: readonly ArmResult[]): string {
  const rows = [
    '| arm | scenario | version | host load | probes failed / sent | longest ssh stall | threshold → job gone | swap-in → job gone | job stopped | all workers gone | others killed | kernel OOM kills | MemAvailable lowest → at job gone | headroom did (audit.jsonl) | notified | report |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  const mib = (v: number | undefined): string => (v === undefined ? '?' : `${v} MiB`);
  for (const r of results) {
    const workers = r.workers === undefined ? '–' : r.workersLeft === undefined ? 'job not stopped' : r.workersLeft === 0 ? `yes (${r.workers} of ${r.workers})` : `no: ${r.workersLeft} of ${r.workers} left`;
    rows.push(
      `| ${r.arm} | ${r.scenario} | ${r.version} | ${r.hostLoad?.split(' ')[0] ?? '?'} | ${r.failedProbes} / ${r.probes} | ${r.longestStallS} s | ${r.thresholdToKillS === undefined ? '–' : `${r.thresholdToKillS} s`} | ${r.swapToKillS === undefined ? '–' : `${r.swapToKillS} s`} | ${r.jobStopped ? 'yes' : 'no (stopped after the run)'} | ${workers} | ${r.otherKilled.length === 0 ? 'none' : r.otherKilled.join(', ')}${r.sshdSurvived ? '' : ' (sshd restarted)'} | ${r.kernelOomKills} | ${mib(r.availLowestMiB)} → ${r.jobStopped ? mib(r.availAtGoneMiB) : '–'} | ${r.actions ?? '–'} | ${r.notified} | ${r.report} |`,
    );
  }
  return rows.join('\n');
}
