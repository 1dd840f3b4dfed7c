import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { renderIncident } from '../../src/incidents/render.js';
import type { IncidentRecord } from '../../src/incidents/types.js';
import { decide } from '../../src/policy/decide.js';
import { policySettings } from '../../src/policy/settings.js';
import type { ProcessDetailsLite, Snapshot } from '../../src/policy/types.js';
import { NodeFileReader } from '../../src/procfs/file-reader.js';
import { parseMountinfo, parseSysvShm, tmpfsMounts } from '../../src/procfs/parse/mounts.js';
import { ProcessTable, type ProcessEntry } from '../../src/procfs/process-table.js';
import { ProcFs } from '../../src/procfs/procfs.js';
import { NodeTreeFs } from '../../src/procfs/tree-fs.js';
import { describeElsewhere, heldElsewhereBytes, type MemoryElsewhere } from '../../src/unowned/analysis.js';
import { readMemoryElsewhere } from '../../src/unowned/read.js';
import { fixture } from '../support/fixtures.js';
import { readFileSync } from 'node:fs';

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;
const BOOT = 1_765_000_000;

describe('mountinfo and SysV shm parsing', () => {
  it('finds the visible tmpfs mounts: escaped paths, the top of a stacked mount, no other file systems', () => {
    const mounts = tmpfsMounts(parseMountinfo(readFileSync(fixture('proc', 'self', 'mountinfo'), 'utf8')));
    expect(mounts.map((m) => [m.mountPoint, m.mountId])).toEqual([
      ['/run', 26],
      ['/data/spill dir', 40],
      ['/dev/shm', 41],
    ]);
  });

  it('rejects a line without the "-" separator, naming the file', () => {
    expect(() => parseMountinfo('22 1 8:1 / / rw shared:1 ext4 /dev/sda1 rw\n')).toThrow(/mountinfo: unexpected line/);
  });

  it('reads /proc/sysvipc/shm by its header, with and without the rss column', () => {
    const withRss = [
      '       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  cgid      atime      dtime      ctime                   rss                  swap',
      '         0         32  1600             268435456  4242  4243      0  1000  1000  1000  1000 1765000000 1765000001 1765000000             134217728                     0',
    ].join('\n');
    expect(parseSysvShm(withRss)).toEqual([{ key: 0, shmid: 32, sizeBytes: 268435456, rssBytes: 134217728, cpid: 4242, nattch: 0, uid: 1000 }]);
    const old = '       key      shmid perms       size  cpid  lpid nattch   uid\n  1234 7 600 4096 10 11 2 0\n';
    expect(parseSysvShm(old)).toEqual([{ key: 1234, shmid: 7, sizeBytes: 4096, rssBytes: undefined, cpid: 10, nattch: 2, uid: 0 }]);
    expect(() => parseSysvShm('key size\n1 2\n')).toThrow(/no "shmid" column/);
  });
});

/** /dev/shm with 1.7 GiB of files whose writer exited, as on the Debian guest of the issue. */
function shmElsewhere(over: Partial<MemoryElsewhere> = {}): MemoryElsewhere {
  return {
    tmpfs: [
      { mount: '/dev/shm', usedBytes: 1.7 * GiB, sizeBytes: 4 * GiB, largest: [{ path: '/dev/shm/torch_8812_spill', bytes: 1.2 * GiB, uid: 1000, user: 'alice' }, { path: '/dev/shm/torch_8812_b', bytes: 0.5 * GiB, uid: 1000, user: 'alice' }] },
      { mount: '/run', usedBytes: 2 * MiB, sizeBytes: 400 * MiB, largest: [] },
    ],
    tmpfsUsedBytes: 1.7 * GiB + 2 * MiB,
    sysvShm: { segments: 0, bytes: 0, unattachedBytes: 0, largest: [] },
    kernel: { shmemBytes: 1.71 * GiB, slabUnreclaimableBytes: 60 * MiB, pageTablesBytes: 8 * MiB },
    truncated: false,
    filesVisited: 3,
    elapsedSeconds: 0.001,
    ...over,
  };
}

function p(pid: number, ppid: number, comm: string, bytes: number): ProcessEntry {
  return { pid, ppid, pgrp: pid, session: 1, comm, state: 'S', isKernelThread: false, residentBytes: bytes, virtualBytes: 0, cpuSeconds: 1, startTicks: pid * 10, startTimeSeconds: BOOT + pid / 10 };
}

/** A 4 GiB guest at `used`, with sshd, the agent and the given extra processes. */
function guest(used: number, extra: ProcessEntry[], elsewhere: MemoryElsewhere | undefined): Snapshot {
  const entries = [p(1, 0, 'init', 10 * MiB), p(500, 1, 'sshd', 8 * MiB), p(900, 1, 'node', 80 * MiB), ...extra];
  const details = new Map<number, ProcessDetailsLite>(entries.map((e) => [e.pid, { cmdline: e.pid === 1200 ? ['python3', 'alloc.py', '300'] : [e.comm], oomScoreAdj: 0, cgroup: '/user.slice' }]));
  const total = 4 * GiB;
  return {
    at: new Date((BOOT + 3600) * 1000),
    memory: { totalBytes: total, availableBytes: total * (1 - used), usedRatio: used, scope: 'host' },
    hostMemTotalBytes: total,
    processes: new ProcessTable(entries),
    details,
    self: { pid: 900, ppid: 1 },
    elsewhere: elsewhere === undefined ? undefined : () => elsewhere,
  };
}

const settings = (remediation: Record<string, unknown> = {}) =>
  policySettings(parseConfig({ remediation: { min_victim_size: '100M', protect: { comm: ['^sshd$', '^init$'] }, ...remediation } }, 'test').remediation);
const host = { alertName: 'HeadroomGuard', target: { kind: 'host' as const } };

describe('decide: memory no process owns', () => {
  it('the issue: 91 % used, 1.7 GiB in /dev/shm, a 300 MiB allocator — refuses and says where the memory is', () => {
    const d = decide(host, guest(0.91, [p(1200, 1, 'python3', 300 * MiB)], shmElsewhere()), settings());
    expect(d.kind === 'refusal' && d.reasonCode).toBe('not_explained');
    const reason = d.kind === 'refusal' ? d.reason : '';
    expect(reason).toMatch(/^nothing to stop: 1\.7 GiB are files in \/dev\/shm, largest \/dev\/shm\/torch_8812_spill \(1\.2 GiB, owner alice\); 60\.0 MiB unreclaimable kernel slab\. /);
    expect(reason).toContain('PID 1200 (python3 alloc.py 300), holds only 300 MiB against 1.8 GiB held where no process owns it: stopping it would not explain the memory');
    expect(reason).not.toContain('/run');
    expect(reason).not.toContain('protected');
  });

  it('a job that does explain the memory is still stopped, whatever sits in /dev/shm', () => {
    // 3 GiB job, 4 GiB of tmpfs files elsewhere (a DataLoader's): stopping it brings the host below 90 % and it
    // holds more than half of what is elsewhere.
    const big = shmElsewhere({ tmpfsUsedBytes: 4 * GiB });
    const d = decide(host, { ...guest(0.97, [p(1300, 1, 'python3', 3 * GiB)], big), memory: { totalBytes: 8 * GiB, availableBytes: 0.24 * GiB, usedRatio: 0.97 } }, settings());
    expect(d.kind === 'plan' && d.target.kind === 'process' && d.target.root.pid).toBe(1300);
    // A victim larger than the cheap upper bound (Shmem + SUnreclaim) is decided without the analysis.
    let called = 0;
    const snap = { ...guest(0.97, [p(1300, 1, 'python3', 3 * GiB)], undefined), elsewhere: () => (called++, big), elsewhereUpperBoundBytes: 1 * GiB };
    expect(decide(host, snap, settings()).kind).toBe('plan');
    expect(called).toBe(0);
  });

  it('without anything held elsewhere, the small victim is still the best there is (the previous behaviour)', () => {
    const none = shmElsewhere({ tmpfs: [], tmpfsUsedBytes: 0, kernel: {} });
    const d = decide(host, guest(0.91, [p(1200, 1, 'python3', 300 * MiB)], none), settings());
    expect(d.kind).toBe('plan');
  });

  it('no tree large enough: says so truthfully, never "all larger ones are protected"', () => {
    const d = decide(host, guest(0.91, [p(1200, 1, 'python3', 50 * MiB)], shmElsewhere()), settings({ protect: { comm: ['^sshd$'] } }));
    expect(d.kind === 'refusal' && d.reasonCode).toBe('no_candidate');
    const reason = d.kind === 'refusal' ? d.reason : '';
    expect(reason).toMatch(/^nothing to stop: 1\.7 GiB are files in \/dev\/shm/);
    // init's tree (everything) is the only one of 100 MiB: it is named with why, not "all larger ones are protected".
    expect(reason).toContain('may be stopped: the 1 that large contain protected or unverifiable processes (PID 1 (init) with');
    const bare = decide(host, guest(0.91, [p(1200, 1, 'python3', 50 * MiB)], undefined), settings({ min_victim_size: '1G' }));
    expect(bare.kind === 'refusal' && bare.reason).toBe('no process tree holds at least 1.0 GiB (the minimum victim size)');
  });

  it('heldElsewhereBytes counts tmpfs, unattached SysV segments and (host only) unreclaimable slab', () => {
    const m = shmElsewhere({ sysvShm: { segments: 2, bytes: 300 * MiB, unattachedBytes: 100 * MiB, largest: [{ shmid: 7, bytes: 200 * MiB, nattch: 1, cpid: 42, user: 'bob' }] } });
    expect(heldElsewhereBytes(m)).toBe(1.7 * GiB + 2 * MiB + 100 * MiB + 60 * MiB);
    expect(heldElsewhereBytes(m, { kernel: false })).toBe(1.7 * GiB + 2 * MiB + 100 * MiB);
    expect(describeElsewhere(m)).toContain('300 MiB in 2 SysV shared memory segments (100 MiB attached to no process), largest shmid 7 (200 MiB, owner bob, 1 attached)');
    expect(describeElsewhere(m, { kernel: false })).not.toContain('slab');
    expect(describeElsewhere(shmElsewhere({ truncated: true, filesVisited: 20000 }))).toContain('file search stopped after 20000 entries');
  });
});

describe('the incident report never calls a victim the root cause when memory did not recover', () => {
  const rec: IncidentRecord = {
    id: 'i1', host: 'guest', source: 'guard', alertName: 'HeadroomGuard', action: 'stop_process_tree', dryRun: false, result: 'success',
    reason: 'memory (host) is at 91.0 % used', detail: 'SIGTERM to 1 processes; all gone',
    target: { process: { pid: 1200, startTime: '1.00', comm: 'python3', cmdline: 'python3 alloc.py', residentBytes: 300 * MiB } },
    timeline: { critical: '2026-12-01T09:00:00.000Z', action: '2026-12-01T09:00:01.000Z' },
    memoryBefore: { totalBytes: 4 * GiB, availableBytes: 0.36 * GiB, usedRatio: 0.91 },
    memoryAfter: { totalBytes: 4 * GiB, availableBytes: 0.48 * GiB, usedRatio: 0.88 },
    actionBefore: {}, actionAfter: {}, freedBytes: 131 * MiB,
    memoryElsewhere: '1.7 GiB are files in /dev/shm, largest /dev/shm/torch_8812_spill (1.2 GiB, owner alice)',
  };
  it('says "Stopped process" and where the memory is', () => {
    const md = renderIncident(rec, []);
    expect(md).not.toContain('Root cause');
    expect(md).toContain('## Stopped process');
    expect(md).toContain('Memory did not recover after this action: this process was not shown to be the root cause.');
    expect(md).toContain('## Memory no process owns\n\n1.7 GiB are files in /dev/shm, largest /dev/shm/torch_8812_spill (1.2 GiB, owner alice).');
  });
  it('keeps "Root cause process" when memory recovered', () => {
    const md = renderIncident({ ...rec, timeToResolutionSeconds: 2, timeline: { ...rec.timeline, recovery: '2026-12-01T09:00:02.000Z' } }, []);
    expect(md).toContain('## Root cause process');
  });
});

describe('readMemoryElsewhere on this machine', () => {
  it('stays within its file bound and reports what it visited', () => {
    const files = new NodeFileReader();
    const procfs = new ProcFs('/proc', files);
    const t0 = performance.now();
    const m = readMemoryElsewhere({ proc: procfs, files, fs: new NodeTreeFs(), userName: (u) => `uid ${u}`, monotonic: () => performance.now() / 1000 }, procfs.meminfo(), {
      maxFiles: 50, budgetSeconds: 5, topMounts: 5, topFiles: 3, walkAboveBytes: 0,
    });
    const ms = performance.now() - t0;
    console.log(`readMemoryElsewhere (real /proc, 50-entry bound): ${ms.toFixed(1)} ms, ${m.filesVisited} entries, ${m.tmpfs.length} tmpfs mounts listed, truncated=${m.truncated}`);
    expect(m.filesVisited).toBeLessThanOrEqual(50);
    expect(m.tmpfs.length).toBeGreaterThan(0);
    expect(m.kernel.shmemBytes).toBeGreaterThanOrEqual(0);
  });
});
