import { describe, expect, it } from 'vitest';
import { parseConfig, parseConfigText } from '../../src/config/load.js';
import { parseSizeBound, resolveSize } from '../../src/config/units.js';
import { policySettings } from '../../src/policy/settings.js';
import { chooseVictim, rankVictims } from '../../src/policy/ranking.js';
import type { ProcessDetailsLite, Snapshot } from '../../src/policy/types.js';
import { ProcessTable, type ProcessEntry } from '../../src/procfs/process-table.js';
import { yamlProblems } from '../support/config-problems.js';

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

/** The guest of issue 14 (MemTotal of a 2 GiB VM: 1 939 MiB) and the 62 GiB box of the 2025-12-12 incident. */
const GUEST_MEMTOTAL = 1939 * MiB;
const INCIDENT_MEMTOTAL = 62 * GiB;

const problems = yamlProblems;

describe('remediation.min_victim_size: the default protects a small machine and stays 1 GiB on a big one', () => {
  const min = policySettings(parseConfig({}, 'test').remediation).minVictimBytes;

  it('is the smaller of 1 GiB and 5 % of MemTotal', () => {
    expect(min(GUEST_MEMTOTAL)).toBe(Math.round(0.05 * GUEST_MEMTOTAL)); // ≈ 97 MiB
    expect(min(GUEST_MEMTOTAL)).toBeLessThan(100 * MiB);
    expect(min(INCIDENT_MEMTOTAL)).toBe(GiB);
    expect(min(20 * GiB)).toBe(GiB);
    expect(min(8 * GiB)).toBe(Math.round(0.05 * 8 * GiB));
  });

  it('with the default, the dozen jobs of the guest (each ~180 MiB held, part in swap) are candidates; systemd --user is not', () => {
    const e = (pid: number, ppid: number, comm: string, rssMiB: number): ProcessEntry => ({
      pid, ppid, pgrp: pid, session: pid, comm, state: 'S', isKernelThread: false, residentBytes: rssMiB * MiB, virtualBytes: 0, cpuSeconds: 1, startTicks: pid, startTimeSeconds: pid,
    });
    const jobs = Array.from({ length: 12 }, (_, i) => e(1000 + i, 1, 'python3', 135 + i));
    const details = new Map<number, ProcessDetailsLite>([
      [1, { cmdline: ['/sbin/init'], oomScoreAdj: 0, cgroup: '/init.scope' }],
      [500, { cmdline: ['/lib/systemd/systemd', '--user'], oomScoreAdj: 100, cgroup: '/user.slice/user-0.slice/user@0.service/init.scope' }],
      ...jobs.map((j): [number, ProcessDetailsLite] => [j.pid, { cmdline: ['python3', '/root/dozen_job.py'], oomScoreAdj: 0, cgroup: '/user.slice/user-0.slice/session-3.scope', swapBytes: 45 * MiB, uid: 0 }]),
    ]);
    const snap: Snapshot = {
      at: new Date('2026-12-01T10:00:00Z'),
      memory: { totalBytes: GUEST_MEMTOTAL, availableBytes: Math.round(GUEST_MEMTOTAL * 0.02), usedRatio: 0.98, scope: 'host' },
      hostMemTotalBytes: GUEST_MEMTOTAL,
      processes: new ProcessTable([e(1, 0, 'systemd', 10), e(500, 1, 'systemd', 9), ...jobs]),
      details,
      self: { pid: 999, ppid: 1 },
    };
    const withDefault = rankVictims(snap, policySettings(parseConfig({}, 'test').remediation));
    expect(withDefault).toHaveLength(12);
    expect(chooseVictim(withDefault, snap)?.entry.pid).toBe(1011); // the largest: 146 MiB resident + 45 MiB swap
    expect(withDefault.map((c) => c.entry.pid)).not.toContain(500);
    // The old default of a flat 1G: no candidate at all (what the guest showed: one no_candidate refusal).
    expect(rankVictims(snap, policySettings(parseConfig({ remediation: { min_victim_size: '1G' } }, 'test').remediation))).toEqual([]);
  });

  it('accepts a size, a percentage and min(A, B) in either order', () => {
    expect(parseConfigText('remediation:\n  min_victim_size: 2G\n', 'ok.yml').remediation.min_victim_size).toEqual({ kind: 'bytes', bytes: 2 * GiB });
    expect(parseConfigText('remediation:\n  min_victim_size: 3%\n', 'ok.yml').remediation.min_victim_size).toEqual({ kind: 'percent', ratio: 0.03 });
    const m = parseSizeBound('MIN( 5% , 512M )');
    expect(m.ok && resolveSize(m.value, 62 * GiB)).toBe(512 * MiB);
    expect(m.ok && resolveSize(m.value, 2 * GiB)).toBe(Math.round(0.05 * 2 * GiB));
  });

  it('a bad value names the key and what is allowed', () => {
    for (const bad of ['lots', 'min(1G)', 'min(1G, 5%, 2G)', 'min(1G, 500%)', '0', '-1G']) {
      expect(problems(`remediation:\n  min_victim_size: "${bad}"\n`)[0]).toMatch(
        /^remediation\.min_victim_size: .*must be a size such as 512M.*a percentage of MemTotal such as 80%, or the smaller of two such as min\(1G, 5%\)/,
      );
    }
  });
});
