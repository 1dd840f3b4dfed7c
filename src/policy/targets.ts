import type { AlertTarget } from './types.js';

export type TargetResult = { ok: true; target: AlertTarget } | { ok: false; reason: string };

const PID = /^[1-9]\d{0,9}$/;
const START_TIME = /^\d{1,12}\.\d{2}$/;
const CGROUP = /^\/[A-Za-z0-9_.:@=+,\-/]{0,511}$/;

/** Whether a label value is a safe cgroup path relative to the hierarchy root (no "..", no "//"). */
export function isSafeCgroupPath(path: string): boolean {
  if (!CGROUP.test(path)) return false;
  const parts = path.split('/').slice(1);
  if (path !== '/' && parts.some((p) => p.length === 0 || p === '.' || p === '..')) return false;
  return true;
}

/**
 * What an alert's labels point at (labels are untrusted input): a process (pid + start_time, exactly as the
 * exporter labels them), else a cgroup, else the host (victims are ranked). A process alert without a valid
 * start_time is refused: without it a reused PID cannot be told apart.
 */
export function targetFromLabels(labels: Readonly<Record<string, string>>): TargetResult {
  const pid = labels.pid;
  if (pid !== undefined) {
    if (!PID.test(pid)) return { ok: false, reason: `label pid=${JSON.stringify(pid.slice(0, 40))} is not a process id` };
    const startTime = labels.start_time;
    if (startTime === undefined) return { ok: false, reason: 'a process alert without a start_time label cannot identify the process' };
    if (!START_TIME.test(startTime)) {
      return { ok: false, reason: `label start_time=${JSON.stringify(startTime.slice(0, 40))} is not epoch seconds with two decimals` };
    }
    return { ok: true, target: { kind: 'process', pid: Number(pid), startTime } };
  }
  const cgroup = labels.cgroup;
  if (cgroup !== undefined) {
    if (!isSafeCgroupPath(cgroup)) return { ok: false, reason: `label cgroup=${JSON.stringify(cgroup.slice(0, 80))} is not a safe cgroup path` };
    return { ok: true, target: { kind: 'cgroup', path: cgroup } };
  }
  return { ok: true, target: { kind: 'host' } };
}
