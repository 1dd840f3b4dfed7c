import { resolveSize } from '../config/units.js';
import { classifyReadError } from '../procfs/file-reader.js';
import { describeKubeProcess, type KubeProcessInfo } from '../procfs/kube-pods.js';
import { readProcessDetails, shortCmdline, type ProcessDetails } from '../procfs/process-details.js';
import { startTimeLabel, type ProcessEntry, type ProcessTable } from '../procfs/process-table.js';
import { family, type Collector, type CollectorOutput, type MetricFamily, type ScrapeContext } from './collector.js';

export interface TopProcessSelection {
  readonly topK: number;
  readonly floorBytes: number;
  readonly maxSeries: number;
}

/**
 * Which processes to export, largest first (pure):
 *  1. the top K by resident memory;
 *  2. every process whose resident memory is at least the floor;
 *  3. every job leader (process-group leader that is not a session leader, i.e. a job started from a shell
 *     or by `headroom run`) whose process tree is at least the floor, so a parent whose DataLoader workers
 *     hold the memory is visible even when the parent itself is small;
 * capped at maxSeries.
 */
export function selectTopProcesses(table: ProcessTable, sel: TopProcessSelection): ProcessEntry[] {
  // One pass, no copy or sort of the whole table: the top K are kept in a small sorted array, and only
  // the chosen processes (a few dozen) are sorted at the end.
  const top: ProcessEntry[] = [];
  const chosen = new Map<number, ProcessEntry>();
  for (const e of table.entries) {
    if (e.isKernelThread) continue;
    if (e.residentBytes >= sel.floorBytes) chosen.set(e.pid, e);
    if (top.length === sel.topK && (sel.topK === 0 || !(largerFirst(e, top[top.length - 1] as ProcessEntry) < 0))) continue;
    let i = top.length;
    while (i > 0 && largerFirst(e, top[i - 1] as ProcessEntry) < 0) i--;
    top.splice(i, 0, e);
    if (top.length > sel.topK) top.pop();
  }
  for (const e of top) chosen.set(e.pid, e);
  for (const e of table.entries) {
    if (e.isKernelThread || chosen.has(e.pid) || e.pid !== e.pgrp || !hasJobTree(e, table)) continue;
    if (table.treeTotals(e.pid).residentBytes >= sel.floorBytes) chosen.set(e.pid, e);
  }
  return [...chosen.values()].sort(largerFirst).slice(0, sel.maxSeries);
}

/** Largest resident memory first; equal sizes by PID. */
function largerFirst(a: ProcessEntry, b: ProcessEntry): number {
  return b.residentBytes - a.residentBytes || a.pid - b.pid;
}

/**
 * Whether a process's tree total means "a job". Not PID 1, and not a session leader that heads a login or a
 * daemon (sshd's tree holds every job started over SSH; alerting on it would be noise and acting on it would be
 * wrong) — that is, a session leader whose parent is PID 1 or itself a session leader (sshd → sshd → bash,
 * tmux → shell, systemd → service). A session leader started by an ordinary process is a job that detached
 * itself: `headroom run` starts jobs that way, as do setsid/nohup wrappers.
 */
export function hasJobTree(e: Pick<ProcessEntry, 'pid' | 'ppid' | 'session'>, table: Pick<ProcessTable, 'byPid'>): boolean {
  if (e.pid === 1) return false;
  if (e.pid !== e.session) return true;
  const parent = table.byPid.get(e.ppid);
  return parent !== undefined && parent.pid !== 1 && parent.pid !== parent.session && !parent.isKernelThread;
}

/**
 * k8s_namespace, k8s_pod and k8s_container are set only on processes inside a Kubernetes pod (names from the
 * kubelet's log directories, else the pod UID and the short container ID): labels on the rows already chosen,
 * never extra series. Not "namespace"/"pod"/"container": the Prometheus Operator adds those as target labels
 * (the agent's own pod) and would rename ours to exported_*.
 */
const LABELS = ['pid', 'start_time', 'comm', 'user', 'cgroup', 'cmdline', 'k8s_namespace', 'k8s_pod', 'k8s_container'] as const;

/** The k8s_* labels of a process in a pod; none for any other process. */
export function kubeLabels(info: KubeProcessInfo | undefined): Record<string, string> {
  if (info === undefined) return {};
  return {
    ...(info.namespace === undefined ? {} : { k8s_namespace: info.namespace }),
    k8s_pod: info.pod,
    ...(info.container === undefined ? {} : { k8s_container: info.container }),
  };
}

interface Exported {
  readonly entry: ProcessEntry;
  readonly details: ProcessDetails;
  readonly labels: Readonly<Record<string, string>>;
  readonly pss?: number;
  /** Tree totals, for processes whose tree means a job (see hasJobTree); computed once per row. */
  readonly tree?: { readonly residentBytes: number; readonly processes: number };
}

/** The largest processes and process trees, with labels that identify each process exactly. */
export const topProcessesCollector: Collector = {
  name: 'top_processes',
  readsProcesses: true,
  collect(ctx: ScrapeContext): CollectorOutput {
    const cfg = ctx.config.collectors.top_processes;
    const memTotal = ctx.meminfo().get('MemTotal') ?? 0;
    const table = ctx.processes();
    const selected = selectTopProcesses(table, {
      topK: cfg.top_k,
      floorBytes: resolveSize(cfg.floor, memTotal),
      maxSeries: cfg.max_series,
    });
    const rows: Exported[] = [];
    for (const entry of selected) {
      let details: ProcessDetails;
      try {
        details = readProcessDetails(ctx.proc, entry.pid);
      } catch (error) {
        ctx.skip(classifyReadError(error));
        continue;
      }
      let pss: number | undefined;
      if (cfg.pss.enabled && entry.residentBytes <= cfg.pss.max_resident) {
        try {
          pss = ctx.proc.pidPssBytes(entry.pid);
        } catch (error) {
          ctx.skip(classifyReadError(error));
        }
      }
      rows.push({
        entry,
        details,
        pss,
        tree: hasJobTree(entry, table) ? table.treeTotals(entry.pid) : undefined,
        labels: {
          pid: String(entry.pid),
          start_time: startTimeLabel(entry),
          comm: entry.comm,
          user: details.status.uid === undefined ? '' : ctx.userName(details.status.uid),
          cgroup: details.cgroup ?? '',
          cmdline: shortCmdline(details.cmdline, entry.comm, cfg.cmdline_max_chars),
          ...kubeLabels(describeKubeProcess(details.cgroup, () => ctx.kubePods())),
        },
      });
    }
    const fam = (name: string, type: 'gauge' | 'counter', help: string, value: (r: Exported) => number | undefined): MetricFamily =>
      family(name, type, help, LABELS, rows.map((r) => ({ labels: r.labels, value: value(r) })));
    const families = [
      fam('headroom_process_resident_bytes', 'gauge', 'Resident memory of the process (RSS).', (r) => r.entry.residentBytes),
      fam('headroom_process_resident_anon_bytes', 'gauge', 'Anonymous resident memory of the process (RssAnon): what only swap or death can free.', (r) => r.details.status.rssAnonBytes),
      fam('headroom_process_swap_bytes', 'gauge', 'Memory of the process that is swapped out (VmSwap).', (r) => r.details.status.vmSwapBytes),
      fam('headroom_process_virtual_bytes', 'gauge', 'Virtual memory size of the process.', (r) => r.entry.virtualBytes),
      fam('headroom_process_start_time_seconds', 'gauge', 'Start time of the process, seconds since the epoch.', (r) => r.entry.startTimeSeconds),
      fam('headroom_process_oom_score_adj', 'gauge', 'OOM killer adjustment of the process (-1000 = never killed by the kernel).', (r) => r.details.oomScoreAdj),
      fam('headroom_process_cpu_seconds_total', 'counter', 'CPU time of the process, user plus system.', (r) => r.entry.cpuSeconds),
      fam('headroom_process_tree_resident_bytes', 'gauge', 'Resident memory of the process plus all its descendants (e.g. DataLoader workers); not for PID 1 and session leaders.', (r) => r.tree?.residentBytes),
      fam('headroom_process_tree_processes', 'gauge', 'Number of processes in the process tree (the process and its descendants); not for PID 1 and session leaders.', (r) => r.tree?.processes),
    ];
    if (cfg.pss.enabled) {
      families.push(fam('headroom_process_pss_bytes', 'gauge', 'Proportional set size from smaps_rollup (opt-in; skipped above pss.max_resident).', (r) => r.pss));
    }
    families.push(
      family('headroom_processes', 'gauge', 'Number of processes seen in this scrape.', [], [{ labels: {}, value: table.entries.length }]),
    );
    return { kind: 'data', families };
  },
};
