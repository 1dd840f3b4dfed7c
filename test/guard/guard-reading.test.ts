import { describe, expect, it } from 'vitest';
import { readCgroupReading, readHostReading } from '../../src/guard/reading.js';
import { CgroupFs } from '../../src/procfs/cgroupfs.js';
import { NodeFileReader } from '../../src/procfs/file-reader.js';
import { ProcFs } from '../../src/procfs/procfs.js';
import { fixture } from '../support/fixtures.js';

describe('guard readings from the fixture trees', () => {
  const files = new NodeFileReader();
  it('reads the host: available share and PSI full avg10', () => {
    const r = readHostReading(new ProcFs(fixture('proc'), files));
    expect(r.memory.scope).toBe('host');
    expect(r.availableRatio).toBeCloseTo(890880 / 65806412, 6);
    expect(r.psiFull).toBeCloseTo(0.412, 6);
  });
  it('reads a cgroup against its limit, with the working set (v1 and v2)', () => {
    for (const tree of ['cgroup-v1', 'cgroup-v2']) {
      const cg = new CgroupFs(fixture(tree), files);
      const h = cg.detectMemoryHierarchy();
      if (h === undefined) throw new Error(`no hierarchy in ${tree}`);
      const r = readCgroupReading(cg, h, '/headroom.slice/feature-testing-7f3a');
      const GiB = 1024 ** 3;
      expect(r.memory.totalBytes).toBe(56 * GiB);
      expect(r.memory.availableBytes).toBe(56 * GiB - (55 * GiB - 400 * 1024 * 1024));
      expect(r.memory.scope).toBe('cgroup /headroom.slice/feature-testing-7f3a');
    }
  });
  it('refuses a cgroup without a limit or that does not exist', () => {
    const cg = new CgroupFs(fixture('cgroup-v2'), files);
    const h = cg.detectMemoryHierarchy();
    if (h === undefined) throw new Error('no hierarchy');
    expect(() => readCgroupReading(cg, h, '/user.slice')).toThrow(/no memory limit/);
    expect(() => readCgroupReading(cg, h, '/nope')).toThrow(/no such cgroup/);
  });
});
