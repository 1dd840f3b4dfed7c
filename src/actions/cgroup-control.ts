import { join } from 'node:path';
import type { MemoryHierarchy } from '../procfs/cgroupfs.js';
import { classifyReadError, type FileReader } from '../procfs/file-reader.js';
import type { CgroupControl } from './action.js';

const MAX_DEPTH = 16;

/** CgroupControl on a real cgroup file system (the memory hierarchy detected by CgroupFs). */
export class LiveCgroupControl implements CgroupControl {
  readonly version: 'v1' | 'v2';

  constructor(
    private readonly hierarchy: MemoryHierarchy,
    private readonly files: FileReader,
    private readonly writeFile: (path: string, text: string) => void,
  ) {
    this.version = hierarchy.version;
  }

  private dir(path: string): string {
    if (path.split('/').some((p) => p === '..')) throw new Error(`unsafe cgroup path ${path}`);
    return join(this.hierarchy.root, path);
  }

  read(path: string, file: string): string | undefined {
    return this.files.readOptional(join(this.dir(path), file));
  }

  write(path: string, file: string, value: string): void {
    this.writeFile(join(this.dir(path), file), value);
  }

  pids(path: string): number[] {
    return this.collect(this.dir(path), 0);
  }

  private collect(dir: string, depth: number): number[] {
    const text = this.files.readOptional(join(dir, 'cgroup.procs')) ?? '';
    const out = text.split('\n').filter((l) => /^\d+$/.test(l)).map(Number);
    if (depth >= MAX_DEPTH) return out;
    let subdirs: string[] = [];
    try {
      subdirs = this.files.listSubdirs(dir);
    } catch (error) {
      if (classifyReadError(error) !== 'vanished') throw error;
    }
    for (const name of subdirs) out.push(...this.collect(join(dir, name), depth + 1));
    return out;
  }
}
