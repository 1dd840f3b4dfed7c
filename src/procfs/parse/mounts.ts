import { MalformedError } from './keyed.js';

/** One line of /proc/PID/mountinfo (proc(5)), the fields headroom uses. */
export interface MountInfo {
  readonly mountId: number;
  readonly parentId: number;
  /** "major:minor" of the file system. */
  readonly device: string;
  /** Where it is mounted, unescaped ("\040" → space). */
  readonly mountPoint: string;
  readonly fsType: string;
  readonly source: string;
}

/** The kernel escapes space, tab, newline and backslash in mountinfo paths as \ooo (octal). */
export function unescapeMountPath(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/**
 * Parses /proc/self/mountinfo: "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw". The optional
 * fields end at a lone "-". A line without the separator is malformed.
 */
export function parseMountinfo(text: string): MountInfo[] {
  const out: MountInfo[] = [];
  for (const line of text.split('\n')) {
    if (line.length === 0) continue;
    const f = line.split(' ');
    const sep = f.indexOf('-', 6);
    if (f.length < 10 || sep < 0 || sep + 2 >= f.length) throw new MalformedError('mountinfo', `unexpected line "${line.slice(0, 80)}"`);
    out.push({
      mountId: Number(f[0]),
      parentId: Number(f[1]),
      device: f[2] ?? '',
      mountPoint: unescapeMountPath(f[4] ?? ''),
      fsType: f[sep + 1] ?? '',
      source: unescapeMountPath(f[sep + 2] ?? ''),
    });
  }
  return out;
}

/**
 * The tmpfs mounts visible now: one per mount point, the last mounted (the one a path resolves to when mounts
 * are stacked on the same directory), in mountinfo order.
 */
export function tmpfsMounts(mounts: readonly MountInfo[]): MountInfo[] {
  const byPoint = new Map<string, MountInfo>();
  for (const m of mounts) {
    if (byPoint.has(m.mountPoint)) byPoint.delete(m.mountPoint);
    byPoint.set(m.mountPoint, m);
  }
  return [...byPoint.values()].filter((m) => m.fsType === 'tmpfs');
}

/** One SysV shared memory segment of /proc/sysvipc/shm. */
export interface SysvShmSegment {
  readonly key: number;
  readonly shmid: number;
  readonly sizeBytes: number;
  /** Resident bytes (newer kernels print an "rss" column); absent otherwise. */
  readonly rssBytes?: number;
  /** Creator PID. */
  readonly cpid: number;
  /** Processes attached now: 0 means no process holds it, yet it stays until removed (ipcrm). */
  readonly nattch: number;
  readonly uid: number;
}

/** Parses /proc/sysvipc/shm by its header (columns are matched by name; unknown ones are ignored). */
export function parseSysvShm(text: string): SysvShmSegment[] {
  const lines = text.split('\n').filter((l) => l.trim().length > 0);
  const header = lines[0]?.trim().split(/\s+/);
  if (header === undefined) return [];
  const col = (name: string): number => header.indexOf(name);
  const need = ['key', 'shmid', 'size', 'cpid', 'nattch', 'uid'] as const;
  for (const n of need) if (col(n) < 0) throw new MalformedError('sysvipc/shm', `no "${n}" column in the header`);
  const rssCol = col('rss');
  const out: SysvShmSegment[] = [];
  for (const line of lines.slice(1)) {
    const f = line.trim().split(/\s+/);
    const num = (i: number): number => Number(f[i]);
    const seg: SysvShmSegment = {
      key: num(col('key')),
      shmid: num(col('shmid')),
      sizeBytes: num(col('size')),
      rssBytes: rssCol >= 0 && f[rssCol] !== undefined ? num(rssCol) : undefined,
      cpid: num(col('cpid')),
      nattch: num(col('nattch')),
      uid: num(col('uid')),
    };
    if (![seg.shmid, seg.sizeBytes, seg.nattch, seg.uid].every(Number.isFinite)) throw new MalformedError('sysvipc/shm', `non-numeric field in "${line.slice(0, 80)}"`);
    out.push(seg);
  }
  return out;
}
