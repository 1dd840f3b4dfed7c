import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cgroupFreezer } from '../../src/actions/cgroup-control.js';
import { CGROUP_EVIDENCE_FILES, parseCgroupMemoryEvidence } from '../../src/evidence/parse.js';
import { NodeFileReader } from '../../src/procfs/file-reader.js';
import { removeDir } from '../receiver/harness.js';

/**
 * The cgroup side of evidence capture: the accounting parser on trees captured from real kernels (the Debian 12
 * guest's v2 tree, the v1 fixture), and the two freezers' file protocol. The kernel's part of freezing (tasks
 * really frozen, SIGKILL held until thawed) is test/evidence/evidence-cgroup-real.test.ts on a real v1 freezer;
 * cgroup.freeze on a real v2 kernel would be the guest lane's.
 */
const files = new NodeFileReader();
const read = (dir: string, names: readonly string[]): Record<string, string | undefined> =>
  Object.fromEntries(names.map((n) => [n, files.readOptional(join(dir, n))]));
const tmp = mkdtempSync(join(tmpdir(), 'headroom-freezer-unit-'));
afterAll(() => removeDir(tmp));

describe('cgroup accounting for the evidence', () => {
  it('v2 (captured from the guest): memory.current, no limit ("max"), anon/file/shmem from memory.stat, swap', () => {
    const dir = 'test/fixtures/cgroup-v2-guest/system.slice/ssh.service';
    expect(parseCgroupMemoryEvidence('v2', read(dir, CGROUP_EVIDENCE_FILES.v2))).toEqual({
      usageBytes: 9723904,
      anonBytes: 2834432,
      fileBytes: 6434816,
      shmemBytes: 4096,
      swapBytes: 0,
    });
  });

  it('v1: usage, the "no limit" value stays absent, the hierarchical total_* stats', () => {
    const dir = 'test/fixtures/cgroup-v1/memory/system.slice/ssh.service';
    const e = parseCgroupMemoryEvidence('v1', read(dir, CGROUP_EVIDENCE_FILES.v1));
    expect(e.usageBytes).toBe(20971520);
    expect(e.limitBytes).toBeUndefined();
    expect(e.anonBytes).toBe(16777216);
    expect(e.fileBytes).toBe(4194304);
    expect(e.swapBytes).toBe(0);
    expect(parseCgroupMemoryEvidence('v1', { 'memory.limit_in_bytes': '167772160\n' }).limitBytes).toBe(167772160);
  });

  it('absent files and keys stay absent', () => {
    expect(parseCgroupMemoryEvidence('v2', {})).toEqual({});
    expect(parseCgroupMemoryEvidence('v2', { 'memory.stat': 'anon 5\n', 'memory.current': 'garbage' })).toEqual({ anonBytes: 5 });
  });
});

describe('the freezers', () => {
  const writes: string[] = [];
  const write = (path: string, text: string): void => {
    writeFileSync(path, text);
    writes.push(`${path.slice(tmp.length)}=${text}`);
  };

  it('v2: cgroup.freeze 1, frozen when cgroup.events says frozen 1, thawed with 0; no cgroup.freeze (root, old kernel): false', () => {
    const root = join(tmp, 'v2');
    mkdirSync(join(root, 'job.scope'), { recursive: true });
    writeFileSync(join(root, 'job.scope', 'cgroup.freeze'), '0\n');
    writeFileSync(join(root, 'job.scope', 'cgroup.events'), 'populated 1\nfrozen 0\n');
    const f = cgroupFreezer({ version: 'v2', root }, undefined, files, write);
    expect(f?.kind).toBe('cgroup_v2_freeze');
    expect(f?.freeze('/job.scope')).toBe(true);
    expect(f?.isFrozen('/job.scope')).toBe(false);
    writeFileSync(join(root, 'job.scope', 'cgroup.events'), 'populated 1\nfrozen 1\n');
    expect(f?.isFrozen('/job.scope')).toBe(true);
    f?.thaw('/job.scope');
    expect(readFileSync(join(root, 'job.scope', 'cgroup.freeze'), 'utf8')).toBe('0');
    expect(f?.freeze('/')).toBe(false);
    expect(() => f?.freeze('/../etc')).toThrow(/unsafe cgroup path/);
    expect(writes.splice(0)).toEqual(['/v2/job.scope/cgroup.freeze=1', '/v2/job.scope/cgroup.freeze=0']);
  });

  it('v1: only where a freezer cgroup exists at the same path; FROZEN / THAWED; a cgroup gone before the thaw is no error', () => {
    const freezerRoot = join(tmp, 'freezer');
    mkdirSync(join(freezerRoot, 'docker', 'abc'), { recursive: true });
    writeFileSync(join(freezerRoot, 'cgroup.procs'), '1\n');
    writeFileSync(join(freezerRoot, 'docker', 'abc', 'freezer.state'), 'THAWED\n');
    const f = cgroupFreezer({ version: 'v1', root: join(tmp, 'memory') }, freezerRoot, files, write);
    expect(f?.kind).toBe('cgroup_v1_freezer');
    expect(f?.freeze('/docker/abc')).toBe(true);
    expect(f?.isFrozen('/docker/abc')).toBe(true);
    f?.thaw('/docker/abc');
    expect(f?.isFrozen('/docker/abc')).toBe(false);
    expect(f?.freeze('/system.slice/cron.service')).toBe(false);
    expect(() => f?.thaw('/gone')).not.toThrow();
    expect(writes.splice(0)).toEqual(['/freezer/docker/abc/freezer.state=FROZEN', '/freezer/docker/abc/freezer.state=THAWED']);
    // No freezer hierarchy mounted: no freezer (capture falls back to SIGSTOP).
    expect(cgroupFreezer({ version: 'v1', root: join(tmp, 'memory') }, join(tmp, 'nothing'), files, write)).toBeUndefined();
    expect(cgroupFreezer({ version: 'v1', root: join(tmp, 'memory') }, undefined, files, write)).toBeUndefined();
  });
});
