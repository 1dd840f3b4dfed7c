import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ProcessTable, type ProcessEntry } from '../../src/procfs/process-table.js';
import { collectStatus } from '../../src/status/collect.js';
import { renderStatusText } from '../../src/status/render-text.js';
import { readSample } from '../../src/status/run.js';
import { topProcessTrees } from '../../src/status/trees.js';
import { runCli } from '../support/cli.js';
import { fixture } from '../support/fixtures.js';
import { FIXTURE_NOW, fixtureSources, prepareState } from './helpers.js';

const GiB = 2 ** 30;

const EXPECTED = `headroom status — ml-box-1 — 2025-12-12 03:13:20 UTC

memory    99% used  61.9 GiB of 62.8 GiB, 870 MiB available
          [################################|#####!-]  | warning 80%  ! critical 95%
swap      8.9 GiB of 15.0 GiB (59%)
pressure  some 63%  full 41% (avg10)  full 30% (avg60)
agent     running  pid 110  http://127.0.0.1:9632  up 2 h 0 m  version 0.1.0
guard     on (host)  line: available < 3.0%  distance -1.6 pts  polling every 100 ms

TOP PROCESS TREES (13 processes)
     PID        RSS  SHARE  GROWTH            PROCS  RUNTIME    USER      COMMAND
     300   54.8 GiB    87%  +14.8 GiB/10 s        3  2 h 33 m   ml        python3 pipelines/training/parallel_feature_testing.py single audusd
     400    2.5 GiB   4.0%  new                   1  3 h 56 m   ml        python3 validate_polars_output.py --input /data/ticks.parquet
     110    410 MiB   0.6%  new                   1  8 h 6 m    promethe  /usr/bin/prometheus --config.file=/etc/prometheus/prometheus.yml
      90   43.9 MiB   0.1%  new                   1  8 h 6 m    root      /lib/systemd/systemd-journald
       1   11.7 MiB   0.0%  new                   1  8 h 6 m    root      /sbin/init

JOBS (headroom run)
  feature-testing-7f3a  55.0 GiB max 56.0 GiB (98%) [##################|!]  high 50.0 GiB  swap 8.0 GiB/8.0 GiB  OOM kills 1
      0 procs

LAST INCIDENTS
  20251212T031300Z-pid449948  2025-12-12 03:13:00  stop_process_tree success  freed 60.0 GiB  PID 449948 python3 pipelines/training/parallel_feature_testing.py single audusd

OUTBOX    2 stored — pending: log 0, slack 2
`;

describe('headroom status on the fixture trees (injected clock and roots)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), `headroom-people-status-${process.pid}-`));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('renders exactly the expected text', () => {
    prepareState(dir);
    const { status, sample } = collectStatus(fixtureSources(dir), { atMs: FIXTURE_NOW.getTime() - 10_000, trees: [[300, 2000000, 40 * GiB]] });
    expect(renderStatusText(status, { width: 200 })).toBe(EXPECTED);
    // The sample keeps every tree (bounded by SAMPLE_TREES) with its identity, for the next growth.
    expect(sample.trees[0]).toEqual([300, 2000000, 14375000 * 4096]);
    expect(sample.atMs).toBe(FIXTURE_NOW.getTime());
  });

  it('cuts every line to the width and shows what is missing', () => {
    const { status } = collectStatus(fixtureSources(dir, 'cgroup-v1'), undefined);
    const text = renderStatusText(status, { width: 60 });
    for (const line of text.split('\n')) expect(line.length).toBeLessThanOrEqual(60);
    expect(text).toContain('agent     NOT RUNNING  no ');
    expect(text).toContain('guard     not running (runs inside the agent)');
    expect(text).toMatch(/^ {5}300 .* new /m);
    expect(text).toContain('LAST INCIDENTS\n  (none)');
  });

  it('a stale agent.json (PID reused: another start time) is "not running"', () => {
    prepareState(dir);
    const state = JSON.parse(readFileSync(join(dir, 'agent.json'), 'utf8')) as Record<string, unknown>;
    // Same PID, another process: the agent died and the PID went to someone else.
    writeFileSync(join(dir, 'agent.json'), JSON.stringify({ ...state, startTicks: 401 }));
    const { status } = collectStatus(fixtureSources(dir), undefined);
    expect(status.agent).toEqual({ running: false, pid: 110, note: `stale ${join(dir, 'agent.json')}: PID 110 is another process now` });
  });

  it('--json prints the same status as one JSON document', () => {
    prepareState(dir);
    const r = runCli(['status', '--json', '--state-dir', dir, '--path.procfs', fixture('proc'), '--path.cgroupfs', fixture('cgroup-v2'), '--sample-file', join(dir, 's.json')]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout) as { memory: { totalBytes: number }; trees: Array<{ pid: number; processes: number }>; jobs: Array<{ name: string; limitBytes: number }>; agent: { running: boolean }; incidents: Array<{ id: string }> };
    expect(s.memory.totalBytes).toBe(65806412 * 1024);
    expect(s.trees.map((t) => [t.pid, t.processes])).toEqual([[300, 3], [400, 1], [110, 1], [90, 1], [1, 1]]);
    expect(s.jobs.map((j) => [j.name, j.limitBytes])).toEqual([['feature-testing-7f3a', 56 * GiB]]);
    expect(s.agent.running).toBe(true);
    expect(s.incidents.map((i) => i.id)).toEqual(['20251212T031300Z-pid449948']);
    // The second run has a previous sample: growth 0 over the time between the runs.
    const again = runCli(['status', '--state-dir', dir, '--path.procfs', fixture('proc'), '--path.cgroupfs', fixture('cgroup-v2'), '--sample-file', join(dir, 's.json'), '--width', '200']);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^ {5}300 +54\.8 GiB +87% +0 B\/\d/m);
    // Every tree of the fixture (10, below the SAMPLE_TREES bound) is remembered, not only the five shown.
    expect(readSample(join(dir, 's.json')).sample?.trees.length).toBe(10);
  });

  it('a bad flag is a usage error naming it', () => {
    const r = runCli(['status', '--interval', 'soon', '--state-dir', dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--interval soon: give a duration of at least 100ms');
  });
});

describe('topProcessTrees (pure)', () => {
  const p = (pid: number, ppid: number, session: number, mib: number): ProcessEntry => ({
    pid, ppid, pgrp: pid, session, comm: `p${pid}`, state: 'S', isKernelThread: false, residentBytes: mib * 2 ** 20, virtualBytes: 0, cpuSeconds: 0, startTicks: pid, startTimeSeconds: pid,
  });
  it('sums each job into its outermost job ancestor; daemons and shells stand alone', () => {
    const table = new ProcessTable([
      p(1, 0, 1, 10),
      p(100, 1, 100, 5), // sshd
      p(200, 100, 200, 4), // sshd session
      p(201, 200, 201, 3), // bash (session leader under a session leader: not a job)
      p(300, 201, 201, 1000), // python train.py: a job
      p(301, 300, 201, 700), // its workers
      p(302, 301, 201, 50),
      p(400, 201, 201, 600), // another job of the same shell
      p(500, 1, 500, 90), // a daemon
    ]);
    const trees = topProcessTrees(table, 3);
    expect(trees.map((t) => [t.root.pid, t.residentBytes / 2 ** 20, t.processes])).toEqual([[300, 1750, 3], [400, 600, 1], [500, 90, 1]]);
    // The order of the entries does not matter (memoisation from any side).
    const reversed = topProcessTrees(new ProcessTable([...table.entries].reverse()), 9);
    expect(reversed.map((t) => [t.root.pid, t.residentBytes / 2 ** 20])).toEqual([[300, 1750], [400, 600], [500, 90], [1, 10], [100, 5], [200, 4], [201, 3]]);
  });
});
