import { formatBytes, formatDuration } from '../../config/units.js';
import type { MemorySummary, ProcessSummary, RemediationAction } from '../events.js';

/** Small pure helpers shared by the Slack and the text renderer. */

/** Cuts `text` to at most `max` characters, ending with "…" when cut; never splits a surrogate pair. */
export function ellipsize(text: string, max: number): string {
  if (max <= 0) return '';
  if (text.length <= max) return text;
  if (max === 1) return '…';
  let end = max - 1;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${text.slice(0, end)}…`;
}

/** Keeps the start and the end of a long command line: "python3 pipelines/…/run.py --seed 3". */
export function shortenMiddle(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max < 8) return ellipsize(text, max);
  const keep = max - 1;
  const head = Math.ceil(keep * 0.6);
  const tail = keep - head;
  return ellipsize(`${safeSlice(text, 0, head)}…${safeSlice(text, text.length - tail, text.length)}`, max);
}

function safeSlice(text: string, start: number, end: number): string {
  let s = start;
  let e = end;
  const first = text.charCodeAt(s);
  if (first >= 0xdc00 && first <= 0xdfff) s += 1;
  const last = text.charCodeAt(e - 1);
  if (last >= 0xd800 && last <= 0xdbff) e -= 1;
  return text.slice(s, Math.max(s, e));
}

/** Collapses newlines/tabs/control characters so a value stays on one line. */
export function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
}

export function percent(ratio: number): string {
  if (!Number.isFinite(ratio)) return '?';
  return `${Math.round(ratio * 100)}%`;
}

export function bytes(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? '?' : formatBytes(value);
}

export function seconds(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? '?' : formatDuration(Math.max(0, value) * 1000);
}

/** "2025-12-12 03:13:05 UTC"; an unparsable value is shown as it came. */
export function timestamp(iso: string): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  return `${new Date(t).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

export function usedBytes(m: MemorySummary): number {
  return m.totalBytes - m.availableBytes;
}

/** "98% used (61.0 GiB of 62.0 GiB), 870 MiB available". */
export function memoryLine(m: MemorySummary): string {
  return `${percent(m.usedRatio)} used (${bytes(usedBytes(m))} of ${bytes(m.totalBytes)}), ${bytes(m.availableBytes)} available`;
}

export function swapLine(m: MemorySummary): string | undefined {
  if (m.swapTotalBytes === undefined || m.swapUsedBytes === undefined) return undefined;
  if (m.swapTotalBytes === 0) return 'no swap';
  return `${bytes(m.swapUsedBytes)} of ${bytes(m.swapTotalBytes)} (${percent(m.swapUsedBytes / m.swapTotalBytes)})`;
}

/** "python3 (pid 449948)". */
export function processName(p: ProcessSummary): string {
  return `${oneLine(p.comm) || '?'} (pid ${p.pid})`;
}

/** kube: "ml/train-7f9c, container trainer" (namespace/pod, container), or undefined outside a pod. */
export function podName(p: ProcessSummary): string | undefined {
  if (p.pod === undefined) return undefined;
  const pod = p.pod.namespace === undefined ? oneLine(p.pod.name) : `${oneLine(p.pod.namespace)}/${oneLine(p.pod.name)}`;
  return p.pod.container === undefined ? pod : `${pod}, container ${oneLine(p.pod.container)}`;
}

/** "63.0 GiB", "63.0 GiB (tree 63.2 GiB, 4 processes)", or with swap "135 MiB, + 45.0 MiB in swap". */
export function processMemory(p: ProcessSummary): string {
  const tree =
    p.treeResidentBytes !== undefined && p.treeResidentBytes !== p.residentBytes
      ? ` (tree ${bytes(p.treeResidentBytes)}${p.treeProcesses !== undefined ? `, ${p.treeProcesses} processes` : ''})`
      : '';
  const swap = p.treeSwapBytes !== undefined && p.treeSwapBytes > 0 ? `, + ${bytes(p.treeSwapBytes)} in swap` : '';
  return `${bytes(p.residentBytes)}${tree}${swap}`;
}

const PAST: Readonly<Record<RemediationAction, string>> = {
  stop_process_tree: 'Stopped',
  stop_cgroup: 'Stopped cgroup',
  throttle: 'Throttled',
  protect: 'Protected',
  drop_caches: 'Dropped caches',
};

const WOULD: Readonly<Record<RemediationAction, string>> = {
  stop_process_tree: 'Would stop',
  stop_cgroup: 'Would stop cgroup',
  throttle: 'Would throttle',
  protect: 'Would protect',
  drop_caches: 'Would drop caches',
};

/** "Stopped python3 (pid 449948)", "Dry run: would stop cgroup /jobs/a". */
export function actionTitle(action: RemediationAction, dryRun: boolean, target: { process?: ProcessSummary; cgroup?: string }): string {
  const verb = dryRun ? `Dry run: ${WOULD[action].toLowerCase()}` : PAST[action];
  if (action === 'drop_caches') return verb;
  const what = target.process ? processName(target.process) : target.cgroup !== undefined ? oneLine(target.cgroup) : '';
  if (action === 'stop_cgroup' && target.process && target.cgroup !== undefined) return `${verb} ${oneLine(target.cgroup)}`;
  if (action === 'stop_process_tree') return `${verb} ${what || 'process tree'}`;
  return what ? `${verb} ${what}` : verb;
}
