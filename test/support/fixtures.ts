import { fileURLToPath } from 'node:url';
import { createCollectors } from '../../src/collectors/index.js';
import { CollectorRunner } from '../../src/collectors/runner.js';
import { parseConfig } from '../../src/config/load.js';
import type { HeadroomConfig } from '../../src/config/schema.js';
import { CgroupFs } from '../../src/procfs/cgroupfs.js';
import { NodeFileReader } from '../../src/procfs/file-reader.js';
import { ProcFs } from '../../src/procfs/procfs.js';
import type { EntryStat, FsUsage, TreeFs } from '../../src/procfs/tree-fs.js';

/** Absolute path of a committed fixture (test/fixtures/...). */
export function fixture(...parts: string[]): string {
  return fileURLToPath(new URL(`../fixtures/${parts.join('/')}`, import.meta.url));
}

/** A deterministic monotonic clock: every reading is 1 ms after the previous one. */
export function steppingClock(stepSeconds = 0.001): () => number {
  let t = 0;
  return () => {
    t += stepSeconds;
    return t;
  };
}

export interface FixtureRunnerOptions {
  readonly cgroup: 'cgroup-v1' | 'cgroup-v2' | 'cgroup-v2-guest';
  readonly procRoot?: string;
  readonly cgroupRoot?: string;
  readonly config?: Record<string, unknown>;
}

/** A collector runner reading the committed fixture trees, with a deterministic clock. */
export function fixtureRunner(opts: FixtureRunnerOptions): { runner: CollectorRunner; config: HeadroomConfig; errors: string[] } {
  const config = parseConfig(
    {
      ...opts.config,
      agent: {
        procfs: opts.procRoot ?? fixture('proc'),
        cgroupfs: opts.cgroupRoot ?? fixture(opts.cgroup),
        passwd: fixture('etc', 'passwd'),
      },
    },
    'test',
  );
  const files = new NodeFileReader();
  const proc = new ProcFs(config.agent.procfs, files);
  const cgroups = new CgroupFs(config.agent.cgroupfs, files);
  const errors: string[] = [];
  const runner = new CollectorRunner(createCollectors(fixtureTreeFs()), { config, proc, cgroups, files }, steppingClock(), (collector, error) =>
    errors.push(`${collector}: ${error instanceof Error ? error.message : String(error)}`),
  );
  return { runner, config, errors };
}

const GiB = 1024 ** 3;
/** statfs of the tmpfs mounts in test/fixtures/proc/self/mountinfo (fixed numbers, so the golden file is exact). */
export const FIXTURE_STATFS: Readonly<Record<string, FsUsage>> = {
  '/dev/shm': { sizeBytes: 16 * GiB, usedBytes: 1.75 * GiB, freeBytes: 14.25 * GiB },
  '/run': { sizeBytes: 6 * GiB, usedBytes: 2 * 1024 * 1024, freeBytes: 6 * GiB - 2 * 1024 * 1024 },
  '/data/spill dir': { sizeBytes: 8 * GiB, usedBytes: 512 * 1024 * 1024, freeBytes: 7.5 * GiB },
};

/** A TreeFs over FIXTURE_STATFS: statfs only; listing and lstat fail like a path that is not there. */
export function fixtureTreeFs(usage: Readonly<Record<string, FsUsage>> = FIXTURE_STATFS): TreeFs {
  const gone = (path: string): Error => Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
  return {
    statfs(path: string): FsUsage {
      const u = usage[path];
      if (u === undefined) throw gone(path);
      return u;
    },
    list(path: string): string[] {
      throw gone(path);
    },
    lstat(path: string): EntryStat {
      throw gone(path);
    },
    stat(path: string): EntryStat {
      throw gone(path);
    },
  };
}
