import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCollectors } from '../../src/collectors/index.js';
import { CollectorRunner } from '../../src/collectors/runner.js';
import type { MetricFamily } from '../../src/collectors/collector.js';
import { parseConfig } from '../../src/config/load.js';
import { CgroupFs } from '../../src/procfs/cgroupfs.js';
import { NodeFileReader } from '../../src/procfs/file-reader.js';
import { ProcFs } from '../../src/procfs/procfs.js';
import { NodeTreeFs } from '../../src/procfs/tree-fs.js';
import { detectKernelUnits } from '../../src/cli/kernel-units.js';
import { createV1Cgroup, inCgroup, type TestCgroup } from '../support/cgroup.js';
import { skipSuite } from '../support/suites.js';
import { killAndWait, spawnUntil } from '../support/processes.js';

/** The real /proc and /sys/fs/cgroup of this machine, read by the same code the agent runs. */
function realRunner(raw: Record<string, unknown> = {}): CollectorRunner {
  const config = parseConfig(raw, 'test');
  const files = new NodeFileReader();
  return new CollectorRunner(
    createCollectors(new NodeTreeFs()),
    { config, proc: new ProcFs('/proc', files, detectKernelUnits()), cgroups: new CgroupFs('/sys/fs/cgroup', files), files },
    () => performance.now() / 1000,
    (collector, error) => {
      throw new Error(`${collector} failed: ${String(error)}`);
    },
  );
}

function samples(families: readonly MetricFamily[], name: string) {
  return families.find((f) => f.name === name)?.samples ?? [];
}

const MiB = 1024 * 1024;
const HOG_MIB = 256;
// Allocates and touches HOG_MIB MiB (one write per page), then waits to be killed.
const HOG = `import sys, time
b = bytearray(${HOG_MIB} << 20)
for i in range(0, len(b), 4096):
    b[i] = 1
print('ready', flush=True)
time.sleep(300)
`;

describe.skipIf(skipSuite('real-machine-cgroup-v1'))('on this machine, for real (cgroup v1)', () => {
  let cgroup: TestCgroup | undefined;
  let hog: ChildProcess | undefined;

  beforeAll(async () => {
    cgroup = createV1Cgroup(`headroom-test-${process.pid}`, 512 * MiB);
    const [file, args] = inCgroup(cgroup.procsFile, ['python3', '-c', HOG]);
    hog = await spawnUntil(file, args, 'ready');
  });

  afterAll(async () => {
    await killAndWait(hog);
    cgroup?.remove();
  });

  it(`finds a child that touched ${HOG_MIB} MiB among the top processes, resident within 10 %`, () => {
    // Every process above 1 KiB: on a shared, busy machine the hog can rank below the default top 10.
    const families = realRunner({ collectors: { top_processes: { floor: '1K', max_series: 100_000 } } }).scrape().families;
    const mine = samples(families, 'headroom_process_resident_bytes').find((s) => s.labels.pid === String(hog?.pid));
    expect(mine, 'the hog is not among the exported processes').toBeDefined();
    expect(mine?.labels.comm).toBe('python3');
    expect(mine?.labels.cgroup).toBe(cgroup?.rel);
    expect(mine?.value).toBeGreaterThan(HOG_MIB * MiB * 0.9);
    expect(mine?.value).toBeLessThan(HOG_MIB * MiB * 1.1);
    const anon = samples(families, 'headroom_process_resident_anon_bytes').find((s) => s.labels.pid === String(hog?.pid));
    expect(anon?.value).toBeGreaterThan(HOG_MIB * MiB * 0.9);
  });

  it('finds the real cgroup with its usage and its limit', () => {
    const families = realRunner().scrape().families;
    const usage = samples(families, 'headroom_cgroup_memory_usage_bytes').find((s) => s.labels.cgroup === cgroup?.rel);
    const limit = samples(families, 'headroom_cgroup_memory_limit_bytes').find((s) => s.labels.cgroup === cgroup?.rel);
    expect(usage?.value).toBeGreaterThan(HOG_MIB * MiB * 0.9);
    expect(usage?.value).toBeLessThan(512 * MiB);
    expect(limit?.value).toBe(512 * MiB);
    expect(samples(families, 'headroom_cgroup_hierarchy_info')[0]?.labels).toEqual({ version: 'v1', mount_subdir: 'memory' });
  });
});

describe('under process churn', () => {
  // Forks children that exit at once, as fast as it can, for at most 150 s; prints its count every 100 forks.
  const CHURN = `import os, signal, sys, time
n = 0
def stop(*_):
    print('forked', n, flush=True)
    os._exit(0)
signal.signal(signal.SIGTERM, stop)
deadline = time.time() + 150
print('ready', flush=True)
while time.time() < deadline:
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    n += 1
    if n % 100 == 0:
        print('forked', n, flush=True)
stop()
`;
  const SCRAPES = 200;
  const FORKS = 2000;
  // An outcome, not a rate: at least SCRAPES scrapes and FORKS processes that started and exited *between the
  // first and the last scrape*, however fast this machine is today (the rate is the benchmark's business).
  it(`scrapes at least ${SCRAPES} times while ${FORKS} processes start and exit, with 0 failed scrapes`, async () => {
    const runner = realRunner();
    const churn = await spawnUntil('python3', ['-c', CHURN], 'ready');
    try {
      let out = '';
      churn.stdout?.on('data', (c: Buffer) => (out += c.toString()));
      // Complete lines only: a chunk may end in the middle of a number.
      const forked = (): number => Number([...out.matchAll(/forked (\d+)\n/g)].at(-1)?.[1] ?? 0);
      let failed = 0;
      let scrapes = 0;
      let forkedAtFirst = -1;
      while (scrapes < SCRAPES || forked() - forkedAtFirst < FORKS) {
        if (churn.exitCode !== null) throw new Error(`the churn process ended early after ${forked()} forks`);
        const { reports } = runner.scrape();
        if (forkedAtFirst < 0) forkedAtFirst = forked();
        scrapes += 1;
        if (reports.some((r) => !r.success)) failed += 1;
        await new Promise((r) => setImmediate(r));
      }
      const during = forked() - forkedAtFirst;
      console.log(`[churn] ${scrapes} scrapes while ${during} processes started and exited`);
      expect(failed, `${failed} of ${scrapes} scrapes failed`).toBe(0);
      expect(scrapes).toBeGreaterThanOrEqual(SCRAPES);
      expect(during).toBeGreaterThanOrEqual(FORKS);
    } finally {
      await killAndWait(churn);
    }
  }, 180_000);
});
