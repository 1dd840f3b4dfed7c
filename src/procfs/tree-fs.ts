import { lstatSync, readdirSync, statfsSync, statSync, type Stats } from 'node:fs';
import { join } from 'node:path';

/** A file system's capacity, from statfs(2). */
export interface FsUsage {
  readonly sizeBytes: number;
  readonly usedBytes: number;
  readonly freeBytes: number;
}

/** lstat(2) facts headroom uses when it looks for large files. */
export interface EntryStat {
  readonly kind: 'file' | 'directory' | 'other';
  /** Apparent size (st_size). */
  readonly sizeBytes: number;
  /** Memory/disk actually allocated (st_blocks × 512): what a tmpfs file holds in RAM. */
  readonly allocatedBytes: number;
  readonly uid: number;
  /** st_dev: a different value below a mount point is another mount (not walked). */
  readonly dev: number;
}

/**
 * Reading mounted file systems (statfs, directory listings, lstat), rooted: every path is a path as the kernel
 * prints it in mountinfo, resolved below `root` ("/" normally; a container's view of the host at "/host").
 * Methods throw the Node error on failure.
 */
export interface TreeFs {
  statfs(path: string): FsUsage;
  list(path: string): string[];
  lstat(path: string): EntryStat;
  /** stat(2): follows links (for /proc/PID/fd/N: the open file itself, even when it was deleted). */
  stat(path: string): EntryStat;
}

export class NodeTreeFs implements TreeFs {
  constructor(readonly root: string = '/') {}

  private at(path: string): string {
    return this.root === '/' ? path : join(this.root, path);
  }

  statfs(path: string): FsUsage {
    const s = statfsSync(this.at(path));
    return { sizeBytes: s.blocks * s.bsize, usedBytes: (s.blocks - s.bfree) * s.bsize, freeBytes: s.bavail * s.bsize };
  }

  list(path: string): string[] {
    return readdirSync(this.at(path));
  }

  lstat(path: string): EntryStat {
    return entry(lstatSync(this.at(path)));
  }

  stat(path: string): EntryStat {
    return entry(statSync(this.at(path)));
  }
}

function entry(s: Stats): EntryStat {
  return {
    kind: s.isFile() ? 'file' : s.isDirectory() ? 'directory' : 'other',
    sizeBytes: s.size,
    allocatedBytes: s.blocks * 512,
    uid: s.uid,
    dev: s.dev,
  };
}
