import type { ProcessSummary } from '../domain/summaries.js';
import type { Snapshot } from '../policy/types.js';
import { shortCmdline } from '../procfs/process-details.js';
import { startTimeLabel } from '../procfs/process-table.js';
import { describeElsewhere } from '../unowned/analysis.js';
import { podSummary } from './kube-pod.js'; // kube

/** A process as people see it in messages and reports (from a snapshot). */
export function summarizeProcess(pid: number, snap: Snapshot): ProcessSummary | undefined {
  const e = snap.processes.byPid.get(pid);
  if (e === undefined) return undefined;
  const d = snap.details.get(pid);
  const tree = snap.processes.treeTotals(pid);
  const swap = snap.processes.subtree(pid).reduce((sum, p) => sum + (snap.details.get(p.pid)?.swapBytes ?? 0), 0);
  return {
    pid,
    startTime: startTimeLabel(e),
    comm: e.comm,
    user: d?.uid !== undefined ? `uid ${d.uid}` : undefined,
    cmdline: shortCmdline(d?.cmdline ?? [], e.comm, 160),
    residentBytes: e.residentBytes,
    treeResidentBytes: tree.residentBytes,
    treeProcesses: tree.processes,
    ...(swap > 0 ? { treeSwapBytes: swap } : {}),
    runtimeSeconds: Math.max(0, Math.round((snap.at.getTime() / 1000 - e.startTimeSeconds) * 100) / 100),
    cpuSeconds: e.cpuSeconds,
    cgroup: d?.cgroup,
    pod: podSummary(d?.cgroup, snap), // kube
  };
}

/** Where memory no process owns is, when it is at least 1 % of the host (64 MiB at least); else undefined. */
export function notableElsewhere(snap: Snapshot): string | undefined {
  const m = snap.elsewhere?.();
  if (m === undefined) return undefined;
  const floor = Math.max(64 * 1024 * 1024, 0.01 * snap.hostMemTotalBytes);
  const text = describeElsewhere(m, { minBytes: floor });
  return text === '' ? undefined : text;
}

/** The n largest user processes of a snapshot, largest first. */
export function topProcesses(snap: Snapshot, n: number): ProcessSummary[] {
  return snap.processes.entries
    .filter((e) => !e.isKernelThread)
    .sort((a, b) => b.residentBytes - a.residentBytes || a.pid - b.pid)
    .slice(0, n)
    .map((e) => summarizeProcess(e.pid, snap))
    .filter((p): p is ProcessSummary => p !== undefined);
}

/** Summaries of the PIDs still in the snapshot. */
export function summarizeAll(pids: readonly number[], snap: Snapshot): ProcessSummary[] {
  return pids.map((pid) => summarizeProcess(pid, snap)).filter((p): p is ProcessSummary => p !== undefined);
}
