import { join } from 'node:path';
import { classifyReadError, type FileReader } from './file-reader.js';
import {
  parseCgroupV1Memory,
  parseCgroupV2Memory,
  V1_FILES,
  V2_FILES,
  type CgroupMemory,
  type CgroupVersion,
} from './parse/cgroup-memory.js';

/** How deep pidsWithin descends below the cgroup it is asked about. */
const MAX_PID_WALK_DEPTH = 16;

/** Where the memory controller lives under a cgroupfs root, as detected at start. */
export interface MemoryHierarchy {
  readonly version: CgroupVersion;
  /** Absolute directory of the memory hierarchy's root cgroup. */
  readonly root: string;
}

/**
 * Typed access to cgroup memory accounting under a cgroupfs mount (normally /sys/fs/cgroup). Detects
 * pure v2 (memory in cgroup.controllers at the root), v1 (a memory/ hierarchy), and hybrid mounts where v2 is
 * at unified/ and has the memory controller.
 */
export class CgroupFs {
  constructor(
    readonly root: string,
    private readonly files: FileReader,
  ) {}

  detectMemoryHierarchy(): MemoryHierarchy | undefined {
    const hasMemoryController = (dir: string): boolean =>
      (this.files.readOptional(join(dir, 'cgroup.controllers')) ?? '').split(/\s+/).includes('memory');
    if (hasMemoryController(this.root)) return { version: 'v2', root: this.root };
    const v1 = join(this.root, 'memory');
    if (this.files.readOptional(join(v1, 'memory.usage_in_bytes')) !== undefined) return { version: 'v1', root: v1 };
    const unified = join(this.root, 'unified');
    if (hasMemoryController(unified)) return { version: 'v2', root: unified };
    return undefined;
  }

  /**
   * Relative paths ("/", "/system.slice", "/system.slice/ssh.service", …) of the cgroups down to maxDepth
   * levels below the root, breadth first. A directory that vanishes while walking is skipped.
   */
  walk(hierarchy: MemoryHierarchy, maxDepth: number, onSkip: (error: unknown) => void): string[] {
    const out: string[] = ['/'];
    let level: string[] = ['/'];
    for (let depth = 1; depth <= maxDepth && level.length > 0; depth++) {
      const next: string[] = [];
      for (const rel of level) {
        let names: string[];
        try {
          names = this.files.listSubdirs(join(hierarchy.root, rel));
        } catch (error) {
          onSkip(error);
          continue;
        }
        for (const name of names.sort()) next.push(rel === '/' ? `/${name}` : `${rel}/${name}`);
      }
      out.push(...next);
      level = next;
    }
    return out;
  }

  /**
   * Memory accounting of one cgroup (relative path), or undefined when it has no usage file: the v2 root
   * cgroup (the host collectors cover it) or a cgroup removed while it was being read.
   */
  memory(hierarchy: MemoryHierarchy, rel: string): CgroupMemory | undefined {
    const dir = join(hierarchy.root, rel);
    const names = hierarchy.version === 'v2' ? V2_FILES : V1_FILES;
    const texts: Record<string, string | undefined> = {};
    for (const name of names) texts[name] = this.files.readOptional(join(dir, name));
    const usageFile = hierarchy.version === 'v2' ? 'memory.current' : 'memory.usage_in_bytes';
    if (texts[usageFile] === undefined) return undefined;
    return hierarchy.version === 'v2' ? parseCgroupV2Memory(rel, texts) : parseCgroupV1Memory(rel, texts);
  }

  /**
   * PIDs of every task in a cgroup (relative path) and its descendants, down to MAX_PID_WALK_DEPTH levels. A
   * child cgroup removed while walking is skipped; a cgroup that does not exist has no PIDs.
   */
  pidsWithin(hierarchy: MemoryHierarchy, rel: string): number[] {
    if (rel.split('/').some((p) => p === '..')) throw new Error(`unsafe cgroup path ${rel}`);
    return this.pidsUnder(join(hierarchy.root, rel), 0);
  }

  private pidsUnder(dir: string, depth: number): number[] {
    const text = this.files.readOptional(join(dir, 'cgroup.procs')) ?? '';
    const out = text.split('\n').filter((l) => /^\d+$/.test(l)).map(Number);
    if (depth >= MAX_PID_WALK_DEPTH) return out;
    let subdirs: string[] = [];
    try {
      subdirs = this.files.listSubdirs(dir);
    } catch (error) {
      if (classifyReadError(error) !== 'vanished') throw error;
    }
    for (const name of subdirs) out.push(...this.pidsUnder(join(dir, name), depth + 1));
    return out;
  }

  /** Absolute directory of a cgroup given by its relative path. */
  dir(hierarchy: MemoryHierarchy, rel: string): string {
    return join(hierarchy.root, rel);
  }
}
