import { join } from 'node:path';
import { CgroupFs, type MemoryHierarchy } from '../procfs/cgroupfs.js';
import type { FileReader } from '../procfs/file-reader.js';
import type { CgroupControl } from './action.js';

/** CgroupControl on a real cgroup file system (the memory hierarchy detected by CgroupFs). */
export class LiveCgroupControl implements CgroupControl {
  readonly version: 'v1' | 'v2';
  private readonly cgroups: CgroupFs;

  constructor(
    private readonly hierarchy: MemoryHierarchy,
    private readonly files: FileReader,
    private readonly writeFile: (path: string, text: string) => void,
  ) {
    this.version = hierarchy.version;
    // The recursive PID walk is CgroupFs's (one implementation for actions and snapshots).
    this.cgroups = new CgroupFs(hierarchy.root, files);
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
    return this.cgroups.pidsWithin(this.hierarchy, path);
  }
}
