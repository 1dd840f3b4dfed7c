import { startTimeLabel } from '../procfs/process-table.js';
import type { Plan, Snapshot } from './types.js';

const SSHD = /^sshd$/;

/**
 * The plan for protecting sshd at agent start (pure): every sshd listener (an sshd whose parent is not an
 * sshd — per-connection children are left alone), or undefined when none runs.
 */
export function planProtectSshd(snap: Snapshot): Plan | undefined {
  const listeners = snap.processes.entries.filter((e) => SSHD.test(e.comm) && !SSHD.test(snap.processes.byPid.get(e.ppid)?.comm ?? ''));
  const first = listeners[0];
  if (first === undefined) return undefined;
  return {
    kind: 'plan',
    action: 'protect',
    target: {
      kind: 'process',
      root: { pid: first.pid, startTime: startTimeLabel(first) },
      tree: listeners.map((e) => ({ pid: e.pid, startTime: startTimeLabel(e) })),
      comm: first.comm,
      cmdline: snap.details.get(first.pid)?.cmdline ?? [],
      cgroup: snap.details.get(first.pid)?.cgroup,
    },
    reason: `protect sshd (${listeners.map((e) => `PID ${e.pid}`).join(', ')}) so SSH keeps working under memory pressure`,
    targetBytes: listeners.reduce((a, e) => a + e.residentBytes, 0),
  };
}
