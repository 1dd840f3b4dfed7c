import { join } from 'node:path';
import { classifyReadError, type FileReader } from '../procfs/file-reader.js';
import type { Meminfo } from '../procfs/parse/meminfo.js';
import { parseMountinfo, parseSysvShm, tmpfsMounts, type MountInfo } from '../procfs/parse/mounts.js';
import type { ProcFs } from '../procfs/procfs.js';
import type { FsUsage, TreeFs } from '../procfs/tree-fs.js';
import { keepLargest, type MemoryElsewhere, type ShmSegmentSummary, type TmpfsFile, type TmpfsUsage } from './analysis.js';

export interface ElsewhereBounds {
  /** At most this many directory entries are looked at, over all mounts. */
  readonly maxFiles: number;
  /** The file walk stops after this long (monotonic seconds). */
  readonly budgetSeconds: number;
  /** Mounts listed (largest use first). */
  readonly topMounts: number;
  /** Files listed per mount. */
  readonly topFiles: number;
  /** Mounts using less than this are not walked. */
  readonly walkAboveBytes: number;
}

export const DEFAULT_ELSEWHERE_BOUNDS: ElsewhereBounds = { maxFiles: 20_000, budgetSeconds: 0.25, topMounts: 5, topFiles: 3, walkAboveBytes: 1024 * 1024 };

export interface ElsewhereSources {
  readonly proc: ProcFs;
  readonly files: FileReader;
  readonly fs: TreeFs;
  readonly userName: (uid: number) => string;
  readonly monotonic: () => number;
}

/** The tmpfs mounts of /proc/self/mountinfo (under the procfs root) with their statfs usage. */
export function readTmpfsUsage(proc: ProcFs, files: FileReader, fs: TreeFs, onSkip: (error: unknown) => void): Array<{ mount: MountInfo; usage: FsUsage }> {
  const text = files.readOptional(proc.path('self', 'mountinfo'));
  if (text === undefined) return [];
  const out: Array<{ mount: MountInfo; usage: FsUsage }> = [];
  for (const mount of tmpfsMounts(parseMountinfo(text))) {
    try {
      out.push({ mount, usage: fs.statfs(mount.mountPoint) });
    } catch (error) {
      onSkip(error);
    }
  }
  return out;
}

/**
 * Reads where the memory no process owns is: tmpfs mounts (statfs) and their largest files (a walk bounded
 * in entries and time, not crossing into other mounts), SysV segments, and meminfo's Shmem, SUnreclaim and
 * PageTables. Never throws for a file that vanished or cannot be read: it is skipped.
 */
export function readMemoryElsewhere(src: ElsewhereSources, meminfo: Meminfo, bounds: ElsewhereBounds = DEFAULT_ELSEWHERE_BOUNDS): MemoryElsewhere {
  const started = src.monotonic();
  const skip = (error: unknown): void => {
    if (classifyReadError(error) === 'io') throw error;
  };
  const mounts = readTmpfsUsage(src.proc, src.files, src.fs, skip).sort((a, b) => b.usage.usedBytes - a.usage.usedBytes || a.mount.mountPoint.localeCompare(b.mount.mountPoint));
  let tmpfsUsedBytes = 0;
  for (const m of mounts) tmpfsUsedBytes += m.usage.usedBytes;
  let visited = 0;
  let truncated = false;
  const tmpfs: TmpfsUsage[] = [];
  for (const { mount, usage } of mounts.slice(0, bounds.topMounts)) {
    const largest: TmpfsFile[] = [];
    if (usage.usedBytes >= bounds.walkAboveBytes && !truncated) {
      let rootDev: number | undefined;
      try {
        rootDev = src.fs.lstat(mount.mountPoint).dev;
      } catch (error) {
        skip(error);
      }
      const queue: string[] = rootDev === undefined ? [] : [mount.mountPoint];
      while (queue.length > 0) {
        const dir = queue.shift() as string;
        let names: string[] = [];
        try {
          names = src.fs.list(dir);
        } catch (error) {
          skip(error);
        }
        for (const name of names) {
          if (visited >= bounds.maxFiles || src.monotonic() - started > bounds.budgetSeconds) {
            truncated = true;
            break;
          }
          visited += 1;
          const path = join(dir, name);
          try {
            const st = src.fs.lstat(path);
            if (st.dev !== rootDev) continue;
            if (st.kind === 'directory') queue.push(path);
            else if (st.kind === 'file') keepLargest(largest, { path, bytes: st.allocatedBytes, uid: st.uid, user: src.userName(st.uid) }, bounds.topFiles);
          } catch (error) {
            skip(error);
          }
        }
        if (truncated) break;
      }
    }
    tmpfs.push({ mount: mount.mountPoint, usedBytes: usage.usedBytes, sizeBytes: usage.sizeBytes, largest });
  }
  const shmText = src.files.readOptional(src.proc.path('sysvipc', 'shm'));
  const segments = shmText === undefined ? [] : parseSysvShm(shmText);
  let shmBytes = 0;
  let unattached = 0;
  const seg: ShmSegmentSummary[] = [];
  for (const s of segments) {
    const bytes = s.rssBytes ?? s.sizeBytes;
    shmBytes += bytes;
    if (s.nattch === 0) unattached += bytes;
    seg.push({ shmid: s.shmid, bytes, nattch: s.nattch, cpid: s.cpid, user: src.userName(s.uid) });
  }
  seg.sort((a, b) => b.bytes - a.bytes || a.shmid - b.shmid);
  return {
    tmpfs,
    tmpfsUsedBytes,
    sysvShm: { segments: segments.length, bytes: shmBytes, unattachedBytes: unattached, largest: seg.slice(0, bounds.topFiles) },
    kernel: { shmemBytes: meminfo.get('Shmem'), slabUnreclaimableBytes: meminfo.get('SUnreclaim'), pageTablesBytes: meminfo.get('PageTables') },
    truncated,
    filesVisited: visited,
    elapsedSeconds: src.monotonic() - started,
  };
}
