import type { ProcessEntry } from '../procfs/process-table.js';
import type { Matchers, Snapshot } from './types.js';

/** comm values (at most 15 characters in the kernel) of processes headroom never stops. */
const SSHD = /^sshd(?:-session|-auth)?$/;
const SYSTEM = /^(?:systemd(?:-.*)?|journald|prometheus|alertmanager|prometheus-ale.*)$/;
/**
 * A Kubernetes node's own machinery: the kubelet, the container runtimes and their per-container shims and
 * monitors, and the pod sandboxes' pause process. Stopping any of them takes down every pod of the node (or the
 * node itself), never just the runaway job. comm is cut to 15 characters ("containerd-shim-runc-v2" →
 * "containerd-shim"), the exe base name is not.
 */
const KUBE_NODE = /^(?:kubelet|containerd|containerd-shim(?:-.*)?|crio|conmon|dockerd|cri-dockerd|docker-proxy|runc|crun|pause)$/;
/** Same names as the first command-line word's base name (comm can be renamed or truncated). */
const SYSTEM_EXE = /^(?:sshd(?:-session|-auth)?|systemd(?:-.*)?|journald|prometheus|alertmanager|prometheus-alertmanager)$/;

export function matchesAny(m: Matchers, comm: string, cmdline: string): RegExp | undefined {
  return m.comm.find((r) => r.test(comm)) ?? m.cmdline.find((r) => r.test(cmdline));
}

/** The first command-line word without its directory ("/usr/sbin/sshd" → "sshd"). */
export function exeBase(cmdline: readonly string[]): string {
  const first = cmdline[0] ?? '';
  const word = first.split(' ')[0] ?? '';
  return word.slice(word.lastIndexOf('/') + 1).replace(/:$/, '');
}

/**
 * Why this process must never be stopped, or undefined when it may be. Conservative: a process whose details
 * could not be read is protected (we cannot check its command line or oom_score_adj).
 */
export function protectionReason(e: ProcessEntry, snap: Snapshot, protect: Matchers): string | undefined {
  if (e.pid === 1) return 'PID 1 (init)';
  if (e.isKernelThread || e.pid === 2 || e.ppid === 2) return 'a kernel thread';
  if (e.pid === snap.self.pid) return 'the headroom agent itself';
  if (e.pid === snap.self.ppid) return "the headroom agent's parent";
  if (SSHD.test(e.comm)) return 'sshd';
  if (SYSTEM.test(e.comm)) return `a protected system service (${e.comm})`;
  if (KUBE_NODE.test(e.comm)) return `part of the Kubernetes node (${e.comm})`;
  const parent = snap.processes.byPid.get(e.ppid);
  if (e.pid === e.session && parent !== undefined && SSHD.test(parent.comm)) return 'the session leader of an SSH login';
  const d = snap.details.get(e.pid);
  if (d === undefined) return 'its details could not be read (it exited, or /proc is unreadable): cannot verify it is safe to stop';
  const base = exeBase(d.cmdline);
  if (SYSTEM_EXE.test(base)) return `a protected system service (${base})`;
  if (KUBE_NODE.test(base)) return `part of the Kubernetes node (${base})`;
  if (d.oomScoreAdj === -1000) return 'oom_score_adj is -1000 (the kernel never kills it either)';
  const hit = matchesAny(protect, e.comm, d.cmdline.join(' '));
  if (hit) return `on the protect list (${hit.source})`;
  return undefined;
}

/** Whether the agent itself runs inside this process's tree (stopping it would stop the agent). */
export function isAncestorOfSelf(pid: number, snap: Snapshot): boolean {
  let cur = snap.processes.byPid.get(snap.self.pid);
  const seen = new Set<number>();
  while (cur !== undefined && !seen.has(cur.pid)) {
    if (cur.pid === pid) return true;
    seen.add(cur.pid);
    cur = snap.processes.byPid.get(cur.ppid);
  }
  return false;
}

/**
 * The first protected process in a process tree (the root or any descendant), with the reason, or undefined
 * when the whole tree may be stopped.
 */
export function protectedInTree(
  tree: readonly ProcessEntry[],
  snap: Snapshot,
  protect: Matchers,
): { entry: ProcessEntry; reason: string } | undefined {
  for (const e of tree) {
    const reason = protectionReason(e, snap, protect);
    if (reason !== undefined) return { entry: e, reason };
  }
  const root = tree[0];
  if (root !== undefined && isAncestorOfSelf(root.pid, snap)) return { entry: root, reason: 'an ancestor of the headroom agent' };
  return undefined;
}
