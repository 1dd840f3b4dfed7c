import type { GroupMatcherConfig } from '../config/sections/agent.js';
import { classifyReadError } from '../procfs/file-reader.js';
import { memoryCgroupPath } from '../procfs/parse/pid-misc.js';
import { family, type Collector, type CollectorOutput, type ScrapeContext } from './collector.js';

/** The facts a matcher may look at; only the ones some matcher needs are read. */
export interface GroupInput {
  readonly pid: number;
  readonly comm: string;
  readonly residentBytes: number;
  readonly swapBytes: number;
  readonly startTimeSeconds: number;
  readonly exe?: string;
  readonly cmdline?: string;
  readonly user?: string;
  readonly cgroup?: string;
}

export interface CompiledMatcher {
  readonly name: string;
  readonly comm?: ReadonlySet<string>;
  readonly exe?: readonly RegExp[];
  readonly cmdline?: readonly RegExp[];
  readonly user?: ReadonlySet<string>;
  readonly cgroup?: readonly RegExp[];
}

export function compileMatchers(matchers: readonly GroupMatcherConfig[]): CompiledMatcher[] {
  return matchers.map((m) => ({
    name: m.name,
    comm: m.comm ? new Set(m.comm) : undefined,
    exe: m.exe?.map((r) => new RegExp(r)),
    cmdline: m.cmdline?.map((r) => new RegExp(r)),
    user: m.user ? new Set(m.user) : undefined,
    cgroup: m.cgroup?.map((r) => new RegExp(r)),
  }));
}

export interface GroupTotals {
  readonly group: string;
  residentBytes: number;
  swapBytes: number;
  processes: number;
  oldestStartTimeSeconds: number;
}

function firstMatch(patterns: readonly RegExp[] | undefined, value: string | undefined): RegExpExecArray | null | undefined {
  if (patterns === undefined) return undefined;
  if (value === undefined) return null;
  for (const p of patterns) {
    const m = p.exec(value);
    if (m) return m;
  }
  return null;
}

/** The group a process belongs to: the first matcher all of whose conditions hold names it; else its comm. */
export function groupName(input: GroupInput, matchers: readonly CompiledMatcher[]): string {
  for (const m of matchers) {
    if (m.comm && !m.comm.has(input.comm)) continue;
    if (m.user && (input.user === undefined || !m.user.has(input.user))) continue;
    const exe = firstMatch(m.exe, input.exe);
    const cmd = firstMatch(m.cmdline, input.cmdline);
    const cg = firstMatch(m.cgroup, input.cgroup);
    if (exe === null || cmd === null || cg === null) continue;
    const captures = cmd ?? exe ?? cg;
    return m.name.replace(/\{(comm|user|cgroup|exe_base|match:(\d+))\}/g, (_all, key: string, index: string | undefined) => {
      if (index !== undefined) return captures?.[Number(index)] ?? '';
      if (key === 'comm') return input.comm;
      if (key === 'user') return input.user ?? '';
      if (key === 'cgroup') return input.cgroup ?? '';
      return (input.exe ?? '').split('/').pop() ?? '';
    });
  }
  return input.comm;
}

/**
 * Sums processes into groups as they are seen (no per-process array), then keeps the largest (see finish).
 * Local to one scrape.
 */
export class GroupAccumulator {
  private readonly groups = new Map<string, GroupTotals>();

  add(name: string, residentBytes: number, swapBytes: number, startTimeSeconds: number): void {
    let g = this.groups.get(name);
    if (!g) {
      g = { group: name, residentBytes: 0, swapBytes: 0, processes: 0, oldestStartTimeSeconds: Number.POSITIVE_INFINITY };
      this.groups.set(name, g);
    }
    g.residentBytes += residentBytes;
    g.swapBytes += swapBytes;
    g.processes += 1;
    g.oldestStartTimeSeconds = Math.min(g.oldestStartTimeSeconds, startTimeSeconds);
  }

  /**
   * Keeps the maxGroups largest groups by resident memory and sums the rest into "other", so the groups
   * always add up to the resident memory of all processes.
   */
  finish(maxGroups: number): GroupTotals[] {
    const sorted = [...this.groups.values()].sort((a, b) => b.residentBytes - a.residentBytes || a.group.localeCompare(b.group));
    const kept = sorted.filter((g) => g.group !== 'other').slice(0, maxGroups);
    const keptNames = new Set(kept.map((g) => g.group));
    const other: GroupTotals = { group: 'other', residentBytes: 0, swapBytes: 0, processes: 0, oldestStartTimeSeconds: Number.POSITIVE_INFINITY };
    for (const g of sorted) {
      if (keptNames.has(g.group)) continue;
      other.residentBytes += g.residentBytes;
      other.swapBytes += g.swapBytes;
      other.processes += g.processes;
      other.oldestStartTimeSeconds = Math.min(other.oldestStartTimeSeconds, g.oldestStartTimeSeconds);
    }
    return other.processes > 0 ? [...kept, other] : kept;
  }
}

/**
 * Groups processes (pure). Keeps the maxGroups largest groups by resident memory and sums the rest into
 * "other", so the groups always add up to the resident memory of all processes.
 */
export function groupProcesses(inputs: readonly GroupInput[], matchers: readonly CompiledMatcher[], maxGroups: number): GroupTotals[] {
  const acc = new GroupAccumulator();
  for (const input of inputs) acc.add(groupName(input, matchers), input.residentBytes, input.swapBytes, input.startTimeSeconds);
  return acc.finish(maxGroups);
}

/** Process groups, like process-exporter: per group resident, swap, count and oldest start time. */
export function createProcessGroupsCollector(): Collector {
  let compiledFor: readonly GroupMatcherConfig[] | undefined;
  let compiled: CompiledMatcher[] = [];
  return {
    name: 'process_groups',
    readsProcesses: true,
    collect(ctx: ScrapeContext): CollectorOutput {
      const cfg = ctx.config.collectors.process_groups;
      if (compiledFor !== cfg.matchers) {
        compiled = compileMatchers(cfg.matchers);
        compiledFor = cfg.matchers;
      }
      const needExe = compiled.some((m) => m.exe);
      const needCmdline = compiled.some((m) => m.cmdline);
      const needUser = compiled.some((m) => m.user);
      const needCgroup = compiled.some((m) => m.cgroup);
      // Per-process swap needs /proc/PID/status of every process; read it only while swap is in use.
      const meminfo = ctx.meminfo();
      const swapUsed = (meminfo.get('SwapTotal') ?? 0) - (meminfo.get('SwapFree') ?? 0);
      const needStatus = swapUsed > 0 || needUser;
      const acc = new GroupAccumulator();
      const entries = ctx.processes().entries;
      if (!needStatus && !needCmdline && !needCgroup && !needExe) {
        // Only comm (and the stat fields already in the table) can matter: no file is read per process and
        // the name depends on comm alone, so it is worked out once per comm.
        const names = new Map<string, string>();
        for (const e of entries) {
          let name = names.get(e.comm);
          if (name === undefined) {
            name = compiled.length === 0 ? e.comm : groupName({ pid: e.pid, comm: e.comm, residentBytes: 0, swapBytes: 0, startTimeSeconds: 0 }, compiled);
            names.set(e.comm, name);
          }
          acc.add(name, e.residentBytes, 0, e.startTimeSeconds);
        }
      } else {
        for (const e of entries) {
          let swapBytes = 0;
          let user: string | undefined;
          let exe: string | undefined;
          let cmdline: string | undefined;
          let cgroup: string | undefined;
          try {
            if (needStatus) {
              const status = ctx.proc.pidStatus(e.pid);
              swapBytes = status.vmSwapBytes ?? 0;
              if (needUser && status.uid !== undefined) user = ctx.userName(status.uid);
            }
            if (needCmdline) cmdline = ctx.proc.pidCmdline(e.pid).join(' ');
            if (needCgroup) cgroup = memoryCgroupPath(ctx.proc.pidCgroups(e.pid));
          } catch (error) {
            // The process exited after the scan: its memory is gone too, so leave it out of every group.
            ctx.skip(classifyReadError(error));
            continue;
          }
          if (needExe && !e.isKernelThread) {
            try {
              exe = ctx.proc.pidExe(e.pid);
            } catch (error) {
              ctx.skip(classifyReadError(error));
            }
          }
          const input: GroupInput = { pid: e.pid, comm: e.comm, residentBytes: e.residentBytes, swapBytes, startTimeSeconds: e.startTimeSeconds, exe, cmdline, user, cgroup };
          acc.add(groupName(input, compiled), input.residentBytes, swapBytes, input.startTimeSeconds);
        }
      }
      const groups = acc.finish(cfg.max_groups);
      const rows = (value: (g: GroupTotals) => number) => groups.map((g) => ({ labels: { group: g.group }, value: value(g) }));
      return {
        kind: 'data',
        families: [
          family('headroom_group_resident_bytes', 'gauge', 'Resident memory of all processes in the group; groups sum to all processes.', ['group'], rows((g) => g.residentBytes)),
          family('headroom_group_swap_bytes', 'gauge', 'Swapped-out memory of the processes in the group (0 while no swap is in use).', ['group'], rows((g) => g.swapBytes)),
          family('headroom_group_processes', 'gauge', 'Number of processes in the group.', ['group'], rows((g) => g.processes)),
          family('headroom_group_oldest_start_time_seconds', 'gauge', 'Start time of the oldest process in the group, seconds since the epoch.', ['group'], rows((g) => g.oldestStartTimeSeconds)),
        ],
      };
    },
  };
}
