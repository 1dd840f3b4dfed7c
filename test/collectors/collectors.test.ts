import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { MetricFamily } from '../../src/collectors/collector.js';
import { compileMatchers, groupProcesses, type GroupInput } from '../../src/collectors/process-groups.js';
import { selectCgroups } from '../../src/collectors/cgroups.js';
import { hasJobTree, selectTopProcesses } from '../../src/collectors/top-processes.js';
import type { CgroupMemory } from '../../src/procfs/parse/cgroup-memory.js';
import { ProcessTable, type ProcessEntry } from '../../src/procfs/process-table.js';
import { fixture, fixtureRunner } from '../support/fixtures.js';

function find(families: readonly MetricFamily[], name: string): MetricFamily {
  const f = families.find((x) => x.name === name);
  if (!f) throw new Error(`no family ${name}`);
  return f;
}

function entry(pid: number, ppid: number, residentMiB: number, extra: Partial<ProcessEntry> = {}): ProcessEntry {
  return {
    pid,
    ppid,
    pgrp: pid,
    session: 1,
    comm: `p${pid}`,
    state: 'S',
    isKernelThread: false,
    residentBytes: residentMiB * 1024 * 1024,
    virtualBytes: 0,
    cpuSeconds: 0,
    startTicks: pid,
    startTimeSeconds: 1000 + pid,
    ...extra,
  };
}

const temps: string[] = [];
afterAll(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});
function tempCopy(src: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'headroom-fixture-'));
  temps.push(dir);
  cpSync(src, dir, { recursive: true });
  return dir;
}

describe('top processes selection (pure)', () => {
  it('takes the top K, everything above the floor, and job leaders whose tree is above the floor, capped', () => {
    const table = new ProcessTable([
      entry(1, 0, 10, { session: 1 }),
      entry(10, 1, 5, { session: 10 }), // a login shell: session leader
      entry(20, 10, 1, { session: 10 }), // a job leader: small itself...
      entry(21, 20, 300, { pgrp: 20, session: 10 }), // ...its workers are big
      entry(22, 20, 300, { pgrp: 20, session: 10 }),
      entry(30, 1, 700, { session: 30 }),
      entry(40, 1, 2, { session: 40, isKernelThread: true }),
    ]);
    const pick = selectTopProcesses(table, { topK: 1, floorBytes: 250 * 1024 * 1024, maxSeries: 10 });
    expect(pick.map((e) => e.pid)).toEqual([30, 21, 22, 20]);
    expect(selectTopProcesses(table, { topK: 1, floorBytes: 250 * 1024 * 1024, maxSeries: 2 }).map((e) => e.pid)).toEqual([30, 21]);
  });
  it('treats a detached job (session leader under an ordinary process, as `headroom run` starts it) as a job', () => {
    const table = new ProcessTable([
      entry(1, 0, 10, { session: 1 }),
      entry(100, 1, 5, { session: 100 }), // sshd: session leader under PID 1
      entry(200, 100, 5, { session: 200 }), // sshd for one login: session leader under a session leader
      entry(201, 200, 5, { session: 201 }), // the login shell: the same
      entry(300, 201, 40, { pgrp: 300, session: 201 }), // `headroom run`, a job of that shell
      entry(301, 300, 1, { pgrp: 301, session: 301 }), // the job it started in its own session …
      entry(302, 301, 400, { pgrp: 301, session: 301 }), // … whose workers hold the memory
      entry(303, 301, 400, { pgrp: 301, session: 301 }),
    ]);
    const pick = selectTopProcesses(table, { topK: 0, floorBytes: 500 * 1024 * 1024, maxSeries: 10 });
    // Both `headroom run` and the job it detached head a tree above the floor; the logins do not.
    expect(pick.map((e) => e.pid)).toEqual([300, 301]);
    expect(hasJobTree(table.byPid.get(301) as ProcessEntry, table)).toBe(true);
    for (const pid of [1, 100, 200, 201]) expect(hasJobTree(table.byPid.get(pid) as ProcessEntry, table)).toBe(false);
  });
  it('never exports kernel threads', () => {
    const table = new ProcessTable([entry(2, 0, 0, { isKernelThread: true }), entry(3, 1, 1)]);
    expect(selectTopProcesses(table, { topK: 10, floorBytes: 1, maxSeries: 10 }).map((e) => e.pid)).toEqual([3]);
  });
});

describe('process groups (pure)', () => {
  const inputs: GroupInput[] = [
    { pid: 1, comm: 'python3', residentBytes: 100, swapBytes: 1, startTimeSeconds: 50, cmdline: 'python3 train.py --lr 3', user: 'ml' },
    { pid: 2, comm: 'python3', residentBytes: 50, swapBytes: 0, startTimeSeconds: 40, cmdline: 'python3 serve.py', user: 'ml' },
    { pid: 3, comm: 'bash', residentBytes: 5, swapBytes: 0, startTimeSeconds: 10, user: 'ml' },
    { pid: 4, comm: 'sshd', residentBytes: 7, swapBytes: 0, startTimeSeconds: 5, user: 'root' },
    { pid: 5, comm: 'cron', residentBytes: 3, swapBytes: 2, startTimeSeconds: 1, user: 'root' },
  ];
  it('groups by comm by default and sums the rest into other', () => {
    const groups = groupProcesses(inputs, [], 2);
    expect(groups.map((g) => [g.group, g.residentBytes, g.processes])).toEqual([
      ['python3', 150, 2],
      ['sshd', 7, 1],
      ['other', 8, 2],
    ]);
    expect(groups.reduce((sum, g) => sum + g.residentBytes, 0)).toBe(inputs.reduce((sum, i) => sum + i.residentBytes, 0));
    expect(groups.find((g) => g.group === 'other')?.oldestStartTimeSeconds).toBe(1);
    expect(groups.find((g) => g.group === 'other')?.swapBytes).toBe(2);
  });
  it('uses the first matching matcher, with templates and regex captures', () => {
    const matchers = compileMatchers([
      { name: 'job:{match:1}', cmdline: ['python3 (\\w+)\\.py'], user: ['ml'] },
      { name: 'system-{user}', user: ['root'] },
    ]);
    const groups = groupProcesses(inputs, matchers, 10);
    expect(groups.map((g) => g.group).sort()).toEqual(['bash', 'job:serve', 'job:train', 'system-root']);
  });
});

describe('cgroup selection (pure)', () => {
  const cg = (path: string, usage: number): CgroupMemory => ({ path, version: 'v2', usageBytes: usage, events: {} });
  it('keeps headroom jobs whatever the cap, then the largest', () => {
    const chosen = selectCgroups([cg('/a', 10), cg('/b', 30), cg('/headroom.slice/job-1', 1), cg('/c', 20)], 2);
    expect(chosen.map((c) => c.path)).toEqual(['/b', '/headroom.slice/job-1']);
  });
});

describe('collectors against the fixture trees', () => {
  it('exports the process tree of the training job with its workers', () => {
    const { runner } = fixtureRunner({ cgroup: 'cgroup-v1' });
    const families = runner.scrape().families;
    const tree = find(families, 'headroom_process_tree_resident_bytes');
    const job = tree.samples.find((s) => s.labels.pid === '300');
    expect(job?.value).toBe((30_000_000 + 14_000_000 + 13_500_000) * 1024);
    expect(job?.labels).toMatchObject({ comm: 'python3', user: 'ml', cgroup: '/headroom.slice/feature-testing-7f3a', start_time: '1765500000.00' });
    // Session leaders (sshd, the login shell) and PID 1 have no tree total: their tree is a whole login.
    expect(tree.samples.map((s) => s.labels.pid).sort()).toEqual(['300', '301', '302', '400']);
  });
  it('makes the groups add up to the resident memory of all processes', () => {
    const { runner } = fixtureRunner({ cgroup: 'cgroup-v1', config: { collectors: { process_groups: { max_groups: 2 } } } });
    const families = runner.scrape().families;
    const groups = find(families, 'headroom_group_resident_bytes').samples;
    expect(groups.map((s) => s.labels.group)).toEqual(['python3', 'prometheus', 'other']);
    const total = groups.reduce((sum, s) => sum + s.value, 0);
    const expectedKiB = 12000 + 0 + 45000 + 8000 + 420000 + 9000 + 5200 + 30_000_000 + 14_000_000 + 13_500_000 + 2_600_000 + 6000 + 3000;
    expect(total).toBe(expectedKiB * 1024);
  });
  it('reads cgroup v2 limits, events and pressure', () => {
    const { runner } = fixtureRunner({ cgroup: 'cgroup-v2' });
    const families = runner.scrape().families;
    const limit = find(families, 'headroom_cgroup_memory_limit_bytes').samples;
    expect(limit).toEqual([{ labels: { cgroup: '/headroom.slice/feature-testing-7f3a' }, value: 56 * 1024 ** 3 }]);
    const events = find(families, 'headroom_cgroup_memory_events_total').samples;
    expect(events).toContainEqual({ labels: { cgroup: '/headroom.slice/feature-testing-7f3a', event: 'oom_kill' }, value: 1 });
    // The v2 root has no memory.current: it is not exported (the host collectors cover it).
    expect(find(families, 'headroom_cgroup_memory_usage_bytes').samples.some((s) => s.labels.cgroup === '/')).toBe(false);
  });
  it('reports "no data" (success, not failure) without PSI and without a cgroup memory controller', () => {
    const proc = tempCopy(fixture('proc'));
    rmSync(join(proc, 'pressure'), { recursive: true });
    const emptyCgroupfs = mkdtempSync(join(tmpdir(), 'headroom-nocg-'));
    temps.push(emptyCgroupfs);
    const { runner, errors } = fixtureRunner({ cgroup: 'cgroup-v1', procRoot: proc, cgroupRoot: emptyCgroupfs });
    const { reports, families } = runner.scrape();
    expect(errors).toEqual([]);
    expect(reports.find((r) => r.name === 'pressure')).toMatchObject({ success: true, noDataReason: expect.stringMatching(/no PSI/) as unknown });
    expect(reports.find((r) => r.name === 'cgroups')).toMatchObject({ success: true, noDataReason: expect.stringMatching(/no cgroup memory controller/) as unknown });
    expect(find(families, 'headroom_scrape_collector_no_data').samples).toContainEqual({ labels: { collector: 'pressure' }, value: 1 });
    expect(families.some((f) => f.name.startsWith('headroom_pressure_'))).toBe(false);
  });
  it('skips and counts vanished and malformed processes without failing the scrape', () => {
    const proc = tempCopy(fixture('proc'));
    writeFileSync(join(proc, '400', 'stat'), 'this is not a stat line');
    rmSync(join(proc, '110', 'status')); // gone between the scan and the detail read
    const { runner, errors } = fixtureRunner({ cgroup: 'cgroup-v1', procRoot: proc });
    const { reports, families } = runner.scrape();
    expect(errors).toEqual([]);
    expect(reports.every((r) => r.success)).toBe(true);
    const skipped = find(families, 'headroom_scrape_errors_total').samples;
    expect(skipped).toContainEqual({ labels: { collector: 'top_processes', reason: 'malformed' }, value: 1 });
    expect(skipped).toContainEqual({ labels: { collector: 'top_processes', reason: 'vanished' }, value: 1 });
    const pids = find(families, 'headroom_process_resident_bytes').samples.map((s) => s.labels.pid);
    expect(pids).not.toContain('400');
    expect(pids).not.toContain('110');
    // Counters accumulate across scrapes.
    const again = runner.scrape().families;
    expect(find(again, 'headroom_scrape_errors_total').samples).toContainEqual({ labels: { collector: 'top_processes', reason: 'malformed' }, value: 2 });
  });
  it('marks a collector whose source is broken as failed, and the others still report', () => {
    const proc = tempCopy(fixture('proc'));
    writeFileSync(join(proc, 'meminfo'), 'garbage without colons\n');
    const { runner, errors } = fixtureRunner({ cgroup: 'cgroup-v1', procRoot: proc });
    const { reports, families } = runner.scrape();
    expect(reports.find((r) => r.name === 'host_memory')?.success).toBe(false);
    expect(reports.find((r) => r.name === 'pressure')?.success).toBe(true);
    expect(errors[0]).toMatch(/^host_memory: meminfo/);
    expect(find(families, 'headroom_scrape_collector_success').samples).toContainEqual({ labels: { collector: 'host_memory' }, value: 0 });
  });
  it('honours collectors.disabled', () => {
    const { runner } = fixtureRunner({ cgroup: 'cgroup-v1', config: { collectors: { disabled: ['cgroups', 'process_groups', 'tmpfs'] } } });
    const { reports, families } = runner.scrape();
    expect(reports.map((r) => r.name)).toEqual(['host_memory', 'pressure', 'top_processes', 'thresholds']);
    expect(families.some((f) => f.name.startsWith('headroom_cgroup_') || f.name.startsWith('headroom_group_') || f.name.startsWith('headroom_tmpfs_'))).toBe(false);
  });
});
