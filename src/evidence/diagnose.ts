import { formatBytes } from '../config/units.js';
import type { Evidence } from './types.js';

/** Knobs whose absence is worth saying for a process with many threads (Polars then uses every core). */
const THREAD_KNOBS = ['POLARS_MAX_THREADS'];

/**
 * One line for Slack from the evidence (pure), e.g. "reading /data/audusd.parquet (18.3 GiB), 64 threads,
 * 2 children (1.1 GiB), POLARS_MAX_THREADS unset, 3.0 GiB anonymous". Only allowlisted variables appear.
 */
export function diagnose(e: Evidence): string {
  const c = e.cgroup;
  const cgroupPart = c === undefined ? undefined : `cgroup ${c.path}: ${c.tasks} task${c.tasks === 1 ? '' : 's'}${c.usageBytes !== undefined ? `, ${formatBytes(c.usageBytes)}` : ''}`;
  if (!e.captured || e.process === undefined) {
    if (e.captured && cgroupPart !== undefined) return cgroupPart;
    return `no evidence captured: ${e.notCaptured[0] ?? 'unknown reason'}`;
  }
  const p = e.process;
  const parts: string[] = [];
  const file = p.openFiles[0];
  if (file !== undefined) parts.push(`reading ${file.path} (${formatBytes(file.sizeBytes)})${p.openFiles.length > 1 ? ` and ${p.openFiles.length - 1} more open file${p.openFiles.length === 2 ? '' : 's'}` : ''}`);
  if (p.threads !== undefined) parts.push(`${p.threads} thread${p.threads === 1 ? '' : 's'}`);
  if (p.children.length > 0) {
    const rss = p.children.reduce((s, c) => s + (c.residentBytes ?? 0), 0);
    parts.push(`${p.children.length} child${p.children.length === 1 ? '' : 'ren'} (${formatBytes(rss)})`);
  }
  for (const [name, value] of Object.entries(p.env)) {
    if (value !== null) parts.push(`${name}=${value}`);
    else if (THREAD_KNOBS.includes(name) && (p.threads ?? 0) >= 16) parts.push(`${name} unset`);
  }
  const m = p.memory;
  if (m.anonBytes !== undefined) parts.push(`${formatBytes(m.anonBytes)} anonymous${m.shmemBytes ? `, ${formatBytes(m.shmemBytes)} shared` : ''}${m.swapBytes ? `, ${formatBytes(m.swapBytes)} swapped` : ''}`);
  if (p.io?.readBytes !== undefined && p.io.readBytes > 0) parts.push(`read ${formatBytes(p.io.readBytes)} from storage`);
  return cgroupPart === undefined ? parts.join(', ') : `${cgroupPart}; largest task (PID ${p.pid}): ${parts.join(', ')}`;
}
