import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAuditLog } from '../../src/audit/audit-log.js';
import { createTmpfsCollector } from '../../src/collectors/tmpfs.js';
import { CollectorRunner } from '../../src/collectors/runner.js';
import { parseConfig } from '../../src/config/load.js';
import type { RefusalNotification, WarningNotification } from '../../src/notify/events.js';
import { renderSlackMessage } from '../../src/notify/render/slack.js';
import { renderText } from '../../src/notify/render/text.js';
import { CgroupFs } from '../../src/procfs/cgroupfs.js';
import { NodeTreeFs } from '../../src/procfs/tree-fs.js';
import { guardTrigger } from '../../src/remediation/pipeline.js';
import { files, proc, removeDir } from '../receiver/harness.js';
import { canCreateV1Cgroup, createV1Cgroup, inCgroup, type TestCgroup } from '../support/cgroup.js';
import { killAndWait, spawnUntil } from '../support/processes.js';
import { realRemediation } from '../support/real-remediation.js';
import { skipSuite } from '../support/suites.js';

/**
 * Memory no process owns, for real: a tmpfs this test mounts in its own temp dir, filled by a writer that runs
 * inside a hard-limited v1 memory cgroup (tmpfs pages stay charged to the writer's cgroup after it exits), and
 * a small bystander allocator in the same cgroup. The guard watches the cgroup as its machine: it must refuse
 * to stop the bystander, and the refusal, the warning and the metric must name the mount and the file.
 */
const MiB = 1024 * 1024;
const NAME = `headroom-evidence-tmpfs-${process.pid}`;
const canRun = process.getuid?.() === 0 && canCreateV1Cgroup();
if (!canRun) console.log(`SKIP test/unowned/tmpfs-real.test.ts: needs root and a writable cgroup v1 memory controller at /sys/fs/cgroup/memory`);

describe.skipIf(skipSuite('tmpfs-cgroup-v1'))('memory held in tmpfs, inside a hard-limited v1 cgroup', () => {
  let mnt = '';
  let cg: TestCgroup | undefined;
  let bystander: ChildProcess | undefined;
  const stateDirs: string[] = [];

  beforeAll(async () => {
    mnt = mkdtempSync(join(tmpdir(), `${NAME}-`));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=400m', NAME, mnt]);
    cg = createV1Cgroup(NAME, 512 * MiB);
    // The writer fills the tmpfs from inside the cgroup, then exits: its pages stay, charged to the cgroup.
    const [sh, args] = inCgroup(cg.procsFile, ['/bin/sh', '-c', 'dd if=/dev/zero of="$1/spill-0.bin" bs=1M count=300 status=none && dd if=/dev/zero of="$1/small.bin" bs=1M count=20 status=none', 'writer', mnt]);
    execFileSync(sh, args);
    const [py, pyArgs] = inCgroup(cg.procsFile, ['python3', '-c', "b = bytearray(40 << 20)\nfor i in range(0, len(b), 4096): b[i] = 1\nprint('ready', flush=True)\nimport time; time.sleep(120)"]);
    bystander = await spawnUntil(py, pyArgs, 'ready');
  }, 60_000);

  afterAll(async () => {
    await killAndWait(bystander);
    if (mnt !== '') {
      execFileSync('umount', [mnt]);
      rmdirSync(mnt);
    }
    cg?.remove();
    stateDirs.forEach(removeDir);
  });

  it('the cgroup is charged for the files (precondition)', () => {
    const usage = Number(readFileSync(join(cg?.dir ?? '', 'memory.usage_in_bytes'), 'utf8'));
    expect(usage).toBeGreaterThan(330 * MiB);
  });

  it('the tmpfs collector exports the mount with what its files hold', () => {
    const config = parseConfig({}, 'test');
    const runner = new CollectorRunner([createTmpfsCollector(new NodeTreeFs())], { config, proc, cgroups: new CgroupFs('/sys/fs/cgroup', files), files }, () => performance.now() / 1000, (c, e) => {
      throw new Error(`${c}: ${String(e)}`);
    });
    const fams = runner.scrape().families;
    const used = fams.find((f) => f.name === 'headroom_tmpfs_used_bytes')?.samples.find((s) => s.labels.mount === mnt);
    const size = fams.find((f) => f.name === 'headroom_tmpfs_size_bytes')?.samples.find((s) => s.labels.mount === mnt);
    expect(used?.value).toBeGreaterThanOrEqual(320 * MiB);
    expect(used?.value).toBeLessThan(330 * MiB);
    expect(size?.value).toBe(400 * MiB);
  });

  it('the guard refuses to stop the bystander and names the mount and the file; the warning does too', async () => {
    if (cg === undefined || bystander?.pid === undefined) throw new Error('setup failed');
    const pid = bystander.pid;
    // Nothing may be signalled here (no mayTouch): a signal would throw and be recorded.
    const { r, dir, sink, signals } = realRemediation({ prefix: NAME, config: {}, remediation: { min_victim_size: '1M', kill_grace: '1s', recovered: { host_used_below: 0.5 } } });
    stateDirs.push(dir);
    try {
      const out = await r.pipeline.handle(guardTrigger({ at: new Date(), scope: cg.rel }));
      expect(out, JSON.stringify(out)).toMatchObject({ kind: 'refusal', reasonCode: 'not_explained' });
      const reason = out.kind === 'refusal' ? out.reason : '';
      expect(reason).toContain(`nothing to stop: `);
      expect(reason).toContain(`are files in ${mnt}, largest ${mnt}/spill-0.bin (300 MiB, owner root)`);
      expect(reason).toContain(`The largest stoppable process tree, PID ${pid} (`);
      expect(reason).not.toContain('slab');
      expect(reason).not.toContain('protected');
      expect(signals).toEqual([]);
      expect(bystander.exitCode).toBeNull();

      const refusal = sink.items.find((n): n is RefusalNotification => n.kind === 'refusal');
      expect(JSON.stringify(renderSlackMessage(refusal as RefusalNotification))).toContain(`${mnt}/spill-0.bin`);
      expect(renderText(refusal as RefusalNotification)).toContain(`${mnt}/spill-0.bin`);
      const audit = readAuditLog(join(dir, 'audit.jsonl'));
      expect(audit.map((e) => `${e.event}:${e.reasonCode}`)).toEqual(['refusal:not_explained']);
      expect(audit[0]?.reason).toContain(mnt);

      await r.pipeline.handle({ kind: 'warning', source: 'receiver', key: `w-${NAME}`, alertName: 'HeadroomHostMemoryHigh', severity: 'warning', summary: 'Memory high', startsAt: new Date() });
      const warning = sink.items.find((n): n is WarningNotification => n.kind === 'warning');
      expect(warning?.memoryElsewhere).toContain(`are files in ${mnt}, largest ${mnt}/spill-0.bin (300 MiB, owner root)`);
      expect(JSON.stringify(renderSlackMessage(warning as WarningNotification))).toContain('Memory no process owns');
    } finally {
      r.close();
    }
  });
});
