import { join } from 'node:path';
import { nextPollInterval } from '../guard/interval.js';
import { IncidentStore } from '../incidents/store.js';
import type { CgroupFs, MemoryHierarchy } from '../procfs/cgroupfs.js';
import { errorCode, type FileReader } from '../procfs/file-reader.js';
import { parsePasswd } from '../procfs/parse/pid-misc.js';
import { readProcessDetails, shortCmdline } from '../procfs/process-details.js';
import { scanProcesses } from '../procfs/process-table.js';
import type { ProcFs } from '../procfs/procfs.js';
import { agentStatePath, parseAgentState } from './agent-state.js';
import { topProcessTrees } from './trees.js';
import type { AgentStatus, HostStatus, IncidentStatus, JobStatus, OutboxStatus, Status, TreeStatus } from './types.js';

/** Where `headroom status` and the page read from: roots, state directories, and the clock (all injected). */
export interface StatusSources {
  readonly proc: ProcFs;
  readonly cgroups: CgroupFs;
  readonly files: FileReader;
  /** Wall clock. */
  readonly now: () => Date;
  readonly hostname: string;
  /** remediation.state_dir: agent.json, incidents/. */
  readonly stateDir: string;
  /** notify.state_dir (the outbox); undefined: no outbox shown. */
  readonly notifyStateDir?: string;
  /** run.cgroup_parent: the jobs of `headroom run` are its children. */
  readonly runCgroupParent: string;
  readonly passwdPath: string;
  readonly thresholds: { readonly warning: number; readonly critical: number };
  /** How many trees, incidents (default 5 each); command lines are cut to cmdlineMaxChars. */
  readonly topTrees?: number;
  readonly lastIncidents?: number;
  readonly cmdlineMaxChars?: number;
}

/** The previous sample of the largest trees, for growth: tiny, kept in memory (--watch) or a state file. */
export interface TreeSample {
  readonly atMs: number;
  /** [pid, startTicks, residentBytes] of the largest trees (at most SAMPLE_TREES). */
  readonly trees: ReadonlyArray<readonly [number, number, number]>;
}

/** Trees remembered per sample: more than are shown, so a tree entering the top five has a growth too. */
export const SAMPLE_TREES = 50;

function describe(error: unknown): string {
  return errorCode(error) ?? (error instanceof Error ? error.message : String(error));
}

export function readHost(proc: ProcFs): HostStatus {
  const m = proc.meminfo();
  const total = m.get('MemTotal') ?? 0;
  const available = m.get('MemAvailable') ?? m.get('MemFree') ?? 0;
  const swapTotal = m.get('SwapTotal');
  const swapFree = m.get('SwapFree');
  const psi = proc.pressure('memory');
  return {
    totalBytes: total,
    availableBytes: available,
    usedRatio: total > 0 ? 1 - available / total : 0,
    ...(swapTotal !== undefined ? { swapTotalBytes: swapTotal } : {}),
    ...(swapTotal !== undefined && swapFree !== undefined ? { swapUsedBytes: swapTotal - swapFree } : {}),
    ...(psi?.some !== undefined ? { psiSome10: psi.some.avg10 / 100 } : {}),
    ...(psi?.full !== undefined ? { psiFull10: psi.full.avg10 / 100, psiFull60: psi.full.avg60 / 100 } : {}),
  };
}

/** The jobs started by `headroom run`: the child cgroups of run.cgroup_parent, with their limits. */
export function readJobs(src: Pick<StatusSources, 'proc' | 'cgroups' | 'files' | 'runCgroupParent'>, hierarchy: MemoryHierarchy | undefined, nowSeconds: number, bootTimeSeconds: number, notes: string[]): JobStatus[] {
  if (hierarchy === undefined) return [];
  const parentDir = src.cgroups.dir(hierarchy, src.runCgroupParent);
  let names: string[];
  try {
    names = src.files.listSubdirs(parentDir);
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') notes.push(`jobs: cannot list ${parentDir} (${describe(error)})`);
    return [];
  }
  const jobs: JobStatus[] = [];
  for (const name of names.sort()) {
    const rel = `${src.runCgroupParent}/${name}`;
    let m;
    try {
      m = src.cgroups.memory(hierarchy, rel);
    } catch (error) {
      notes.push(`job ${rel}: ${describe(error)}`);
      continue;
    }
    if (m === undefined) continue;
    const pids = (src.files.readOptional(join(src.cgroups.dir(hierarchy, rel), 'cgroup.procs')) ?? '')
      .split('\n')
      .filter((l) => /^\d+$/.test(l))
      .map(Number);
    let command: string | undefined;
    let runtimeSeconds: number | undefined;
    const first = pids[0];
    if (first !== undefined) {
      try {
        const st = src.proc.pidStat(first);
        command = shortCmdline(src.proc.pidCmdline(first), st.comm, 200);
        runtimeSeconds = Math.max(0, nowSeconds - (bootTimeSeconds + st.startTicks / src.proc.units.clockTicksPerSecond));
      } catch (error) {
        // The job's first process exited between the two reads: shown without a command.
        notes.push(`job ${rel}: process ${first} (${describe(error)})`);
      }
    }
    jobs.push({
      cgroup: rel,
      name,
      usageBytes: m.usageBytes,
      ...(m.limitBytes !== undefined ? { limitBytes: m.limitBytes } : {}),
      ...(m.highBytes !== undefined ? { highBytes: m.highBytes } : {}),
      ...(m.swapBytes !== undefined ? { swapBytes: m.swapBytes } : {}),
      ...(m.swapLimitBytes !== undefined ? { swapLimitBytes: m.swapLimitBytes } : {}),
      ...(m.peakBytes !== undefined ? { peakBytes: m.peakBytes } : {}),
      ...(m.events.oom_kill !== undefined ? { oomKills: m.events.oom_kill } : {}),
      processes: pids.length,
      ...(command !== undefined ? { command } : {}),
      ...(runtimeSeconds !== undefined ? { runtimeSeconds } : {}),
    });
  }
  return jobs;
}

/** Whether the agent named by agent.json is alive (same PID and start time), with its guard's state. */
export function readAgent(src: Pick<StatusSources, 'proc' | 'files' | 'stateDir' | 'cgroups'>, host: HostStatus, hierarchy: MemoryHierarchy | undefined, nowMs: number): AgentStatus {
  const path = agentStatePath(src.stateDir);
  let text: string | undefined;
  try {
    text = src.files.readOptional(path);
  } catch (error) {
    return { running: false, note: `cannot read ${path} (${describe(error)})` };
  }
  if (text === undefined) return { running: false, note: `no ${path}: the agent is not running (or uses another state_dir)` };
  const { state, problem } = parseAgentState(text);
  if (state === undefined) return { running: false, note: `${path} is not an agent state file: ${problem ?? '?'}` };
  let startTicks: number | undefined;
  try {
    startTicks = src.proc.pidStat(state.pid).startTicks;
  } catch {
    return { running: false, pid: state.pid, note: `stale ${path}: no process ${state.pid} (the agent stopped without cleaning up)` };
  }
  if (startTicks !== state.startTicks) return { running: false, pid: state.pid, note: `stale ${path}: PID ${state.pid} is another process now` };
  const g = state.guard;
  let availableRatio = host.totalBytes > 0 ? host.availableBytes / host.totalBytes : 0;
  let scope = 'host';
  if (g.watchCgroup !== undefined && hierarchy !== undefined) {
    scope = `cgroup ${g.watchCgroup}`;
    const m = src.cgroups.memory(hierarchy, g.watchCgroup);
    if (m?.limitBytes !== undefined) availableRatio = Math.max(0, m.limitBytes - (m.workingSetBytes ?? m.usageBytes)) / m.limitBytes;
  }
  return {
    running: true,
    pid: state.pid,
    url: state.url,
    version: state.version,
    uptimeSeconds: Math.max(0, (nowMs - Date.parse(state.startedAt)) / 1000),
    guard: {
      enabled: g.enabled,
      scope,
      availableBelow: g.availableBelow,
      distance: availableRatio - g.availableBelow,
      intervalMs: nextPollInterval(availableRatio, g.availableBelow, g.minIntervalMs, g.maxIntervalMs),
    },
  };
}

export function readIncidents(stateDir: string, last: number, notes: string[]): IncidentStatus[] {
  try {
    return new IncidentStore(join(stateDir, 'incidents'))
      .list()
      .slice(-last)
      .reverse()
      .map((r) => ({
        id: r.id,
        at: r.timeline.action,
        action: r.action,
        result: r.result,
        dryRun: r.dryRun,
        source: r.source,
        alertName: r.alertName,
        target: r.target.process ? `PID ${r.target.process.pid} ${r.target.process.cmdline}` : `cgroup ${r.target.cgroup ?? '?'}`,
        ...(r.freedBytes !== undefined ? { freedBytes: r.freedBytes } : {}),
      }));
  } catch (error) {
    notes.push(`incidents: ${describe(error)}`);
    return [];
  }
}

/** Counts the outbox from file names alone (msg-<seq>.json, cursor-<name>.json): no message is parsed. */
export function readOutbox(files: FileReader, dir: string, notes: string[]): OutboxStatus | undefined {
  let entries: string[];
  try {
    entries = files.listDir(dir);
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') notes.push(`outbox: cannot list ${dir} (${describe(error)})`);
    return undefined;
  }
  const seqs: number[] = [];
  const cursors: Array<[string, number]> = [];
  for (const e of entries) {
    const msg = /^msg-(\d{16})\.json$/.exec(e);
    if (msg) {
      seqs.push(Number(msg[1]));
      continue;
    }
    const cur = /^cursor-([a-z0-9_-]+)\.json$/.exec(e);
    if (cur) {
      try {
        const seq = (JSON.parse(files.readText(join(dir, e))) as { seq?: unknown }).seq;
        cursors.push([cur[1] ?? '?', typeof seq === 'number' ? seq : 0]);
      } catch (error) {
        notes.push(`outbox: ${e} (${describe(error)})`);
      }
    }
  }
  const pending: Record<string, number> = {};
  for (const [name, seq] of cursors.sort()) pending[name] = seqs.filter((s) => s > seq).length;
  return { stored: seqs.length, pending };
}

/**
 * One status reading. Reads meminfo, PSI, every /proc/PID/stat (one small read each), details of the five
 * largest trees only, the job cgroups, agent.json, incidents/index.jsonl and the outbox's file names.
 */
export function collectStatus(src: StatusSources, previous: TreeSample | undefined): { status: Status; sample: TreeSample } {
  const notes: string[] = [];
  const nowMs = src.now().getTime();
  const memory = readHost(src.proc);
  const bootTimeSeconds = src.proc.stat().bootTimeSeconds;
  let skipped = 0;
  const table = scanProcesses(src.proc, bootTimeSeconds, () => {
    skipped += 1;
  });
  const k = src.topTrees ?? 5;
  const all = topProcessTrees(table, Math.max(k, SAMPLE_TREES));
  const before = new Map<string, number>();
  for (const [pid, ticks, bytes] of previous?.trees ?? []) before.set(`${pid}/${ticks}`, bytes);
  const growthSeconds = previous === undefined ? undefined : (nowMs - previous.atMs) / 1000;
  let users: Map<number, string> | undefined;
  const trees: TreeStatus[] = [];
  for (const t of all.slice(0, k)) {
    let user: string | undefined;
    let cmdline = `[${t.root.comm}]`;
    let cgroup: string | undefined;
    try {
      const d = readProcessDetails(src.proc, t.root.pid);
      cmdline = shortCmdline(d.cmdline, t.root.comm, src.cmdlineMaxChars ?? 200);
      cgroup = d.cgroup;
      if (d.status.uid !== undefined) {
        users ??= parsePasswd(src.files.readOptional(src.passwdPath) ?? '');
        user = users.get(d.status.uid) ?? String(d.status.uid);
      }
    } catch (error) {
      notes.push(`pid ${t.root.pid}: ${describe(error)}`);
    }
    const prev = before.get(`${t.root.pid}/${t.root.startTicks}`);
    trees.push({
      pid: t.root.pid,
      startTicks: t.root.startTicks,
      comm: t.root.comm,
      ...(user !== undefined ? { user } : {}),
      cmdline,
      ...(cgroup !== undefined ? { cgroup } : {}),
      residentBytes: t.residentBytes,
      processes: t.processes,
      share: memory.totalBytes > 0 ? t.residentBytes / memory.totalBytes : 0,
      runtimeSeconds: Math.max(0, nowMs / 1000 - t.root.startTimeSeconds),
      ...(prev !== undefined && growthSeconds !== undefined && growthSeconds > 0 ? { growthBytes: t.residentBytes - prev, growthSeconds } : {}),
    });
  }
  if (skipped > 0) notes.push(`${skipped} processes exited or were unreadable while scanning`);
  let hierarchy: MemoryHierarchy | undefined;
  try {
    hierarchy = src.cgroups.detectMemoryHierarchy();
  } catch (error) {
    notes.push(`cgroups: ${describe(error)}`);
  }
  const jobs = readJobs(src, hierarchy, nowMs / 1000, bootTimeSeconds, notes);
  const agent = readAgent(src, memory, hierarchy, nowMs);
  const incidents = readIncidents(src.stateDir, src.lastIncidents ?? 5, notes);
  const outbox = src.notifyStateDir === undefined ? undefined : readOutbox(src.files, src.notifyStateDir, notes);
  const status: Status = {
    at: new Date(nowMs).toISOString(),
    host: src.hostname,
    memory,
    thresholds: src.thresholds,
    trees,
    processCount: table.entries.length,
    jobs,
    agent,
    incidents,
    ...(outbox !== undefined ? { outbox } : {}),
    notes,
  };
  return { status, sample: { atMs: nowMs, trees: all.map((t) => [t.root.pid, t.root.startTicks, t.residentBytes] as const) } };
}
