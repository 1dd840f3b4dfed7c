import type { CgroupFs } from '../procfs/cgroupfs.js';
import type { FileReader } from '../procfs/file-reader.js';
import { parsePasswd } from '../procfs/parse/pid-misc.js';
import { readProcessDetails, shortCmdline } from '../procfs/process-details.js';
import { scanProcesses } from '../procfs/process-table.js';
import type { ProcFs } from '../procfs/procfs.js';
import { readHost, readJobs } from '../status/collect.js';
import { topProcessTrees } from '../status/trees.js';
import type { ShortHistory, TreeSampleEntry } from './history.js';

export interface SamplerIo {
  readonly proc: ProcFs;
  readonly cgroups: CgroupFs;
  readonly files: FileReader;
  readonly runCgroupParent: string;
  readonly passwdPath: string;
  /** Wall clock, epoch ms (job runtimes). */
  readonly now: () => number;
}

/** Feeds host memory, swap and PSI: two small reads (meminfo, pressure/memory). */
export function sampleHost(history: ShortHistory, io: Pick<SamplerIo, 'proc'>): void {
  const h = readHost(io.proc);
  history.recordHost({
    totalBytes: h.totalBytes,
    availableBytes: h.availableBytes,
    ...(h.swapTotalBytes !== undefined ? { swapTotalBytes: h.swapTotalBytes } : {}),
    ...(h.swapUsedBytes !== undefined ? { swapUsedBytes: h.swapUsedBytes } : {}),
    ...(h.psiSome10 !== undefined ? { psiSome10: h.psiSome10 } : {}),
    ...(h.psiFull10 !== undefined ? { psiFull10: h.psiFull10 } : {}),
  });
}

/**
 * Feeds the largest process trees (one /proc/PID/stat read per process, details of the top K only) and the
 * job cgroups of `headroom run`. Returns the problems met (vanished processes are normal and not reported).
 */
export function sampleTrees(history: ShortHistory, io: SamplerIo): string[] {
  const notes: string[] = [];
  const boot = io.proc.stat().bootTimeSeconds;
  const table = scanProcesses(io.proc, boot, () => undefined);
  const k = history.options.topK;
  let users: Map<number, string> | undefined;
  const entries: TreeSampleEntry[] = [];
  for (const t of topProcessTrees(table, k)) {
    let cmdline: string | undefined;
    let user: string | undefined;
    let cgroup: string | undefined;
    try {
      const d = readProcessDetails(io.proc, t.root.pid);
      cmdline = shortCmdline(d.cmdline, t.root.comm, 300);
      cgroup = d.cgroup;
      if (d.status.uid !== undefined) {
        users ??= parsePasswd(io.files.readOptional(io.passwdPath) ?? '');
        user = users.get(d.status.uid) ?? String(d.status.uid);
      }
    } catch {
      // The root exited between the scan and this read: it is recorded with what the scan saw.
      cmdline = undefined;
    }
    entries.push({
      key: `${t.root.pid}/${t.root.startTicks}`,
      pid: t.root.pid,
      startTimeSeconds: t.root.startTimeSeconds,
      comm: t.root.comm,
      ...(user !== undefined ? { user } : {}),
      ...(cmdline !== undefined ? { cmdline } : {}),
      ...(cgroup !== undefined ? { cgroup } : {}),
      residentBytes: t.residentBytes,
      processes: t.processes,
    });
  }
  history.recordTrees(entries);
  const hierarchy = io.cgroups.detectMemoryHierarchy();
  const jobs = readJobs(io, hierarchy, io.now() / 1000, boot, notes);
  history.recordJobs(jobs.map((j) => ({ path: j.cgroup, usageBytes: j.usageBytes, ...(j.limitBytes !== undefined ? { limitBytes: j.limitBytes } : {}), ...(j.highBytes !== undefined ? { highBytes: j.highBytes } : {}) })));
  return notes;
}
