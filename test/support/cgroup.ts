import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Where this machine's cgroup v1 memory controller is (the development and CI machines have one). */
export const V1_MEMORY_ROOT = '/sys/fs/cgroup/memory';

/** A real, hard-limited cgroup for a test's memory hog. */
export interface TestCgroup {
  /** Path relative to the memory hierarchy root, as the exporter labels it. */
  readonly rel: string;
  readonly dir: string;
  readonly procsFile: string;
  /** Removes the cgroup; its processes must have exited (the caller kills them by PID first). */
  remove(): void;
}

export function canCreateV1Cgroup(): boolean {
  if (!existsSync(join(V1_MEMORY_ROOT, 'memory.limit_in_bytes'))) return false;
  const probe = join(V1_MEMORY_ROOT, `headroom-probe-${process.pid}`);
  try {
    mkdirSync(probe);
    rmdirSync(probe);
    return true;
  } catch {
    return false;
  }
}

/** Creates /sys/fs/cgroup/memory/<name> with a hard limit (and the same memory+swap limit: no swap escape). */
export function createV1Cgroup(name: string, limitBytes: number): TestCgroup {
  const dir = join(V1_MEMORY_ROOT, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'memory.limit_in_bytes'), String(limitBytes));
  const memsw = join(dir, 'memory.memsw.limit_in_bytes');
  if (existsSync(memsw)) writeFileSync(memsw, String(limitBytes));
  return {
    rel: `/${name}`,
    dir,
    procsFile: join(dir, 'cgroup.procs'),
    remove: () => {
      if (!existsSync(dir)) return;
      const left = readFileSync(join(dir, 'cgroup.procs'), 'utf8').trim();
      if (left !== '') throw new Error(`cgroup ${dir} still has processes: ${left.replace(/\n/g, ' ')}`);
      rmdirSync(dir);
    },
  };
}

/** argv that runs `command` inside the cgroup: the shell moves itself in, then execs (no interpolation). */
export function inCgroup(procsFile: string, command: readonly string[]): [string, string[]] {
  return ['/bin/sh', ['-c', 'echo $$ > "$1" && shift && exec "$@"', 'sh', procsFile, ...command]];
}
