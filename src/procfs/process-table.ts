import { classifyReadError, type ReadFailure } from './file-reader.js';
import { PF_KTHREAD, parsePidStatBytes } from './parse/pid-stat.js';
import type { ProcFs } from './procfs.js';

/** One process as seen in /proc/PID/stat, in bytes and seconds. */
export interface ProcessEntry {
  readonly pid: number;
  readonly ppid: number;
  readonly pgrp: number;
  readonly session: number;
  readonly comm: string;
  readonly state: string;
  readonly isKernelThread: boolean;
  readonly residentBytes: number;
  readonly virtualBytes: number;
  readonly cpuSeconds: number;
  /** Start time in clock ticks after boot: with the PID, the identity of a process (PIDs are reused). */
  readonly startTicks: number;
  /** Start time in seconds since the epoch (boot time + startTicks / CLK_TCK). */
  readonly startTimeSeconds: number;
}

/** All processes of one moment, with parent → children links for process-tree totals. */
export class ProcessTable {
  readonly byPid: ReadonlyMap<number, ProcessEntry>;
  private readonly children = new Map<number, number[]>();

  constructor(readonly entries: readonly ProcessEntry[]) {
    const byPid = new Map<number, ProcessEntry>();
    for (const e of entries) {
      byPid.set(e.pid, e);
      const siblings = this.children.get(e.ppid);
      if (siblings) siblings.push(e.pid);
      else this.children.set(e.ppid, [e.pid]);
    }
    this.byPid = byPid;
  }

  childrenOf(pid: number): readonly number[] {
    return this.children.get(pid) ?? [];
  }

  /** The process and all its descendants (pre-order; the process first). */
  subtree(pid: number): ProcessEntry[] {
    const out: ProcessEntry[] = [];
    const root = this.byPid.get(pid);
    if (!root) return out;
    const stack = [root];
    const seen = new Set<number>();
    while (stack.length > 0) {
      const e = stack.pop() as ProcessEntry;
      if (seen.has(e.pid)) continue;
      seen.add(e.pid);
      out.push(e);
      for (const child of this.childrenOf(e.pid)) {
        const c = this.byPid.get(child);
        if (c) stack.push(c);
      }
    }
    return out;
  }

  /** Resident bytes of the process plus its descendants, and how many processes that is. */
  treeTotals(pid: number): { residentBytes: number; processes: number } {
    let residentBytes = 0;
    const tree = this.subtree(pid);
    for (const e of tree) residentBytes += e.residentBytes;
    return { residentBytes, processes: tree.length };
  }

  /** Sum of resident bytes of all processes. */
  totalResidentBytes(): number {
    let total = 0;
    for (const e of this.entries) total += e.residentBytes;
    return total;
  }
}

/** Counts reads that were skipped, by reason (a process exited mid-scan, permission, malformed file). */
export type SkipCounter = (reason: ReadFailure) => void;

/** Reads one /proc/PID/stat into an entry; undefined (counted) when the process vanished or the file is bad. */
function readEntry(proc: ProcFs, pid: number, bootTimeSeconds: number, onSkip: SkipCounter): ProcessEntry | undefined {
  const { pageSizeBytes, clockTicksPerSecond } = proc.units;
  let bytes: Uint8Array;
  try {
    bytes = proc.pidStatBytes(pid);
  } catch (error) {
    onSkip(classifyReadError(error));
    return undefined;
  }
  try {
    const s = parsePidStatBytes(bytes);
    return {
      pid: s.pid,
      ppid: s.ppid,
      pgrp: s.pgrp,
      session: s.session,
      comm: s.comm,
      state: s.state,
      isKernelThread: (s.flags & PF_KTHREAD) !== 0,
      residentBytes: s.rssPages * pageSizeBytes,
      virtualBytes: s.vsizeBytes,
      cpuSeconds: (s.utimeTicks + s.stimeTicks) / clockTicksPerSecond,
      startTicks: s.startTicks,
      startTimeSeconds: bootTimeSeconds + s.startTicks / clockTicksPerSecond,
    };
  } catch (error) {
    onSkip(classifyReadError(error));
    return undefined;
  }
}

/**
 * Reads /proc/PID/stat of every process (or of the PIDs given): one small read per process, nothing else.
 * Processes that vanish between the directory listing and the read, or whose file cannot be parsed, are
 * skipped and counted.
 */
export function scanProcesses(proc: ProcFs, bootTimeSeconds: number, onSkip: SkipCounter, pids: readonly number[] = proc.pids()): ProcessTable {
  const entries: ProcessEntry[] = [];
  for (const pid of pids) {
    const e = readEntry(proc, pid, bootTimeSeconds, onSkip);
    if (e !== undefined) entries.push(e);
  }
  return new ProcessTable(entries);
}

/** How many processes a yielding scan reads between two turns of the event loop (about 2–5 ms of work). */
export const SCAN_CHUNK = 200;

/**
 * scanProcesses, handing the event loop back every SCAN_CHUNK processes: a scan of 6 000 processes (0.1–0.2 s)
 * then never holds the loop more than a few milliseconds, so the guard's poll and the receiver's accept path
 * run between chunks (docs/guard.md). `yieldToLoop` is injected (setImmediate in the agent).
 */
export async function scanProcessesYielding(proc: ProcFs, bootTimeSeconds: number, onSkip: SkipCounter, yieldToLoop: () => Promise<void>, pids?: readonly number[]): Promise<ProcessTable> {
  const list = pids ?? proc.pids();
  const entries: ProcessEntry[] = [];
  for (let i = 0; i < list.length; i++) {
    if (i > 0 && i % SCAN_CHUNK === 0) await yieldToLoop();
    const e = readEntry(proc, list[i] as number, bootTimeSeconds, onSkip);
    if (e !== undefined) entries.push(e);
  }
  return new ProcessTable(entries);
}

/** The start-time label value: epoch seconds with the clock-tick precision (two decimals), exact and stable. */
export function startTimeLabel(entry: Pick<ProcessEntry, 'startTimeSeconds'>): string {
  return entry.startTimeSeconds.toFixed(2);
}
