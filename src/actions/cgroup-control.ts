import { join } from 'node:path';
import { CgroupFs, type MemoryHierarchy } from '../procfs/cgroupfs.js';
import { errorCode, type FileReader } from '../procfs/file-reader.js';
import { parseFlatKeyed } from '../procfs/parse/keyed.js';
import type { CgroupControl, CgroupFreezer } from './action.js';

function safeJoin(root: string, path: string): string {
  if (path.split('/').some((p) => p === '..')) throw new Error(`unsafe cgroup path ${path}`);
  return join(root, path);
}

/** v2: `cgroup.freeze` / `cgroup.events` in the memory hierarchy itself. */
class V2Freezer implements CgroupFreezer {
  readonly kind = 'cgroup_v2_freeze';
  constructor(
    private readonly root: string,
    private readonly files: FileReader,
    private readonly writeFile: (path: string, text: string) => void,
  ) {}

  freeze(path: string): boolean {
    const file = join(safeJoin(this.root, path), 'cgroup.freeze');
    // The root cgroup and kernels before 5.2 have no cgroup.freeze.
    if (this.files.readOptional(file) === undefined) return false;
    this.writeFile(file, '1');
    return true;
  }

  isFrozen(path: string): boolean {
    const events = this.files.readOptional(join(safeJoin(this.root, path), 'cgroup.events'));
    return events !== undefined && parseFlatKeyed(events).get('frozen') === 1;
  }

  thaw(path: string): void {
    writeUnlessGone(this.writeFile, join(safeJoin(this.root, path), 'cgroup.freeze'), '0');
  }
}

/** v1: the freezer hierarchy's `freezer.state`, only where a freezer cgroup exists at the same path. */
class V1Freezer implements CgroupFreezer {
  readonly kind = 'cgroup_v1_freezer';
  constructor(
    private readonly root: string,
    private readonly files: FileReader,
    private readonly writeFile: (path: string, text: string) => void,
  ) {}

  freeze(path: string): boolean {
    const file = join(safeJoin(this.root, path), 'freezer.state');
    // The root freezer cgroup has no freezer.state; a memory cgroup without a freezer twin has none either.
    if (this.files.readOptional(file) === undefined) return false;
    this.writeFile(file, 'FROZEN');
    return true;
  }

  isFrozen(path: string): boolean {
    return this.files.readOptional(join(safeJoin(this.root, path), 'freezer.state'))?.trim() === 'FROZEN';
  }

  thaw(path: string): void {
    writeUnlessGone(this.writeFile, join(safeJoin(this.root, path), 'freezer.state'), 'THAWED');
  }
}

function writeUnlessGone(writeFile: (path: string, text: string) => void, file: string, text: string): void {
  try {
    writeFile(file, text);
  } catch (error) {
    // The cgroup was removed after its tasks died: nothing is left to thaw.
    if (errorCode(error) !== 'ENOENT') throw error;
  }
}

/**
 * The freezer that goes with a memory hierarchy: v2 has it built in; on v1 it is the `freezer` hierarchy next to
 * `memory` under the same cgroupfs mount (`v1FreezerRoot`, e.g. /sys/fs/cgroup/freezer), when it is mounted.
 */
export function cgroupFreezer(
  hierarchy: MemoryHierarchy,
  v1FreezerRoot: string | undefined,
  files: FileReader,
  writeFile: (path: string, text: string) => void,
): CgroupFreezer | undefined {
  if (hierarchy.version === 'v2') return new V2Freezer(hierarchy.root, files, writeFile);
  if (v1FreezerRoot === undefined || files.readOptional(join(v1FreezerRoot, 'cgroup.procs')) === undefined) return undefined;
  return new V1Freezer(v1FreezerRoot, files, writeFile);
}

/** CgroupControl on a real cgroup file system (the memory hierarchy detected by CgroupFs). */
export class LiveCgroupControl implements CgroupControl {
  readonly version: 'v1' | 'v2';
  readonly freezer?: CgroupFreezer;
  private readonly cgroups: CgroupFs;

  constructor(
    private readonly hierarchy: MemoryHierarchy,
    private readonly files: FileReader,
    private readonly writeFile: (path: string, text: string) => void,
    o: { readonly v1FreezerRoot?: string } = {},
  ) {
    this.version = hierarchy.version;
    // The recursive PID walk is CgroupFs's (one implementation for actions and snapshots).
    this.cgroups = new CgroupFs(hierarchy.root, files);
    const freezer = cgroupFreezer(hierarchy, o.v1FreezerRoot, files, writeFile);
    if (freezer !== undefined) this.freezer = freezer;
  }

  private dir(path: string): string {
    return safeJoin(this.hierarchy.root, path);
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
