import { formatBytes } from '../config/units.js';

/**
 * "Where is the memory" when no process holds it: files in tmpfs (/dev/shm, /run, a spill directory), SysV
 * shared memory segments, and the kernel's own (slab, page tables). Plain data, built by ./read.ts, described
 * here by pure functions. Deleting any of it stays a person's decision: headroom only says where it is.
 */

export interface TmpfsFile {
  readonly path: string;
  /** Bytes the file holds in memory (allocated blocks; a sparse file holds less than its size). */
  readonly bytes: number;
  readonly uid: number;
  readonly user: string;
}

export interface TmpfsUsage {
  readonly mount: string;
  readonly usedBytes: number;
  readonly sizeBytes: number;
  /** Largest files first (bounded). */
  readonly largest: readonly TmpfsFile[];
}

export interface ShmSegmentSummary {
  readonly shmid: number;
  readonly bytes: number;
  readonly nattch: number;
  readonly cpid: number;
  readonly user: string;
}

export interface MemoryElsewhere {
  /** tmpfs mounts, largest use first (bounded). */
  readonly tmpfs: readonly TmpfsUsage[];
  /** Sum over every tmpfs mount seen (not only the listed ones). */
  readonly tmpfsUsedBytes: number;
  readonly sysvShm: { readonly segments: number; readonly bytes: number; readonly unattachedBytes: number; readonly largest: readonly ShmSegmentSummary[] };
  /** From /proc/meminfo (absent when the kernel does not print the field). */
  readonly kernel: { readonly shmemBytes?: number; readonly slabUnreclaimableBytes?: number; readonly pageTablesBytes?: number };
  /** The file walk stopped at its file or time bound; the lists may miss files. */
  readonly truncated: boolean;
  readonly filesVisited: number;
  readonly elapsedSeconds: number;
}

/**
 * Memory that stopping a process would not give back: files in tmpfs, SysV segments no process is attached to,
 * and unreclaimable kernel slab (`kernel: false` for a watched cgroup: the host's slab is not charged to it).
 * Page tables are left out (they belong to processes and go with them).
 */
export function heldElsewhereBytes(m: MemoryElsewhere, o: { readonly kernel: boolean } = { kernel: true }): number {
  return m.tmpfsUsedBytes + m.sysvShm.unattachedBytes + (o.kernel ? (m.kernel.slabUnreclaimableBytes ?? 0) : 0);
}

function fileText(f: TmpfsFile): string {
  return `${f.path} (${formatBytes(f.bytes)}, owner ${f.user})`;
}

/**
 * One sentence for refusals, warnings and reports, largest holder first: "1.7 GiB are files in /dev/shm,
 * largest /dev/shm/spill-0 (1.2 GiB, owner alice); …". Empty when nothing notable is held. `kernel: false` leaves
 * out the host's slab and page tables (a watched cgroup is not charged for them).
 */
export function describeElsewhere(m: MemoryElsewhere, o: { readonly minBytes?: number; readonly kernel?: boolean } = {}): string {
  const minBytes = o.minBytes ?? 16 * 1024 * 1024;
  const parts: string[] = [];
  for (const t of m.tmpfs) {
    if (t.usedBytes < minBytes) continue;
    const largest = t.largest[0];
    parts.push(`${formatBytes(t.usedBytes)} are files in ${t.mount}${largest ? `, largest ${fileText(largest)}` : ''}`);
  }
  if (m.sysvShm.bytes >= minBytes) {
    const seg = m.sysvShm.largest[0];
    parts.push(
      `${formatBytes(m.sysvShm.bytes)} in ${m.sysvShm.segments} SysV shared memory segment${m.sysvShm.segments === 1 ? '' : 's'}` +
        (m.sysvShm.unattachedBytes > 0 ? ` (${formatBytes(m.sysvShm.unattachedBytes)} attached to no process)` : '') +
        (seg ? `, largest shmid ${seg.shmid} (${formatBytes(seg.bytes)}, owner ${seg.user}, ${seg.nattch} attached)` : ''),
    );
  }
  const k = m.kernel;
  if (o.kernel === false) return parts.length === 0 ? '' : parts.join('; ') + (m.truncated ? ` (file search stopped after ${m.filesVisited} entries; more may exist)` : '');
  if ((k.slabUnreclaimableBytes ?? 0) >= minBytes) parts.push(`${formatBytes(k.slabUnreclaimableBytes ?? 0)} unreclaimable kernel slab`);
  if ((k.pageTablesBytes ?? 0) >= minBytes) parts.push(`${formatBytes(k.pageTablesBytes ?? 0)} page tables`);
  if (parts.length === 0) return '';
  return parts.join('; ') + (m.truncated ? ` (file search stopped after ${m.filesVisited} entries; more may exist)` : '');
}

/** Keeps the `n` largest files (pure helper of the walk). */
export function keepLargest(list: TmpfsFile[], f: TmpfsFile, n: number): void {
  if (list.length < n) {
    list.push(f);
  } else {
    const last = list[list.length - 1];
    if (last === undefined || f.bytes <= last.bytes) return;
    list[list.length - 1] = f;
  }
  list.sort((a, b) => b.bytes - a.bytes || a.path.localeCompare(b.path));
}
