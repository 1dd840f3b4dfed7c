import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { decide } from '../../src/policy/decide.js';
import { checkLimits } from '../../src/policy/limits.js';
import { planProtectSshd } from '../../src/policy/protect-plan.js';
import { chooseVictim, rankVictims } from '../../src/policy/ranking.js';
import { policySettings } from '../../src/policy/settings.js';
import { targetFromLabels } from '../../src/policy/targets.js';
import type { ProcessDetailsLite, Snapshot } from '../../src/policy/types.js';
import { ProcessTable, type ProcessEntry } from '../../src/procfs/process-table.js';

const GiB = 1024 ** 3;
const BOOT = 1_765_000_000;

function p(pid: number, ppid: number, comm: string, gib: number, o: Partial<ProcessEntry> = {}): ProcessEntry {
  return {
    pid, ppid, pgrp: pid, session: o.session ?? 1, comm, state: 'S', isKernelThread: false,
    residentBytes: gib * GiB, virtualBytes: 0, cpuSeconds: 100, startTicks: pid * 10, startTimeSeconds: BOOT + pid / 10, ...o,
  };
}

/** A 62 GiB host like the seed incident: init, sshd with a login, a tmux session running two jobs, the agent. */
function world(over: { used?: number; details?: Record<number, Partial<ProcessDetailsLite>>; extra?: ProcessEntry[] } = {}): Snapshot {
  const entries = [
    p(1, 0, 'systemd', 0.01),
    p(2, 0, 'kthreadd', 0, { isKernelThread: true }),
    p(300, 1, 'systemd-journal', 0.1),
    p(500, 1, 'sshd', 0.01),
    p(600, 500, 'sshd', 0.01),
    p(610, 600, 'bash', 0.01, { session: 610 }),
    p(700, 1, 'tmux: server', 0.01),
    p(710, 700, 'bash', 0.01, { session: 710 }),
    p(720, 710, 'python3', 20, { pgrp: 720, session: 710 }),
    p(721, 720, 'python3', 30, { pgrp: 720, session: 710 }),
    p(722, 720, 'python3', 12, { pgrp: 720, session: 710 }),
    p(800, 1, 'python3', 4, { session: 800 }),
    p(900, 1, 'node', 0.1),
    p(950, 1, 'prometheus', 2),
    ...(over.extra ?? []),
  ];
  const cmd: Record<number, string[]> = {
    720: ['python3', 'pipelines/training/parallel_feature_testing.py', 'single', 'audusd'],
    721: ['python3', '-c', 'worker'], 722: ['python3', '-c', 'worker'], 800: ['python3', 'small.py'], 900: ['node', 'headroom', 'agent'],
    500: ['/usr/sbin/sshd', '-D'], 950: ['/usr/bin/prometheus'],
  };
  const details = new Map<number, ProcessDetailsLite>();
  for (const e of entries) {
    if (e.isKernelThread) continue;
    details.set(e.pid, { cmdline: cmd[e.pid] ?? [e.comm], oomScoreAdj: 0, cgroup: '/user.slice', ...over.details?.[e.pid] });
  }
  const total = 62 * GiB;
  const used = over.used ?? 0.98;
  return {
    at: new Date((BOOT + 4 * 3600) * 1000),
    memory: { totalBytes: total, availableBytes: total * (1 - used), usedRatio: used, scope: 'host' },
    hostMemTotalBytes: total,
    processes: new ProcessTable(entries),
    details,
    self: { pid: 900, ppid: 1 },
  };
}

const settings = (remediation: Record<string, unknown> = {}) => policySettings(parseConfig({ remediation }, 'test').remediation);
const label = (pid: number) => (BOOT + pid / 10).toFixed(2);

describe('decide: process alerts', () => {
  it('plans stopping the exact process tree named by pid + start_time', () => {
    const d = decide({ alertName: 'X', target: { kind: 'process', pid: 720, startTime: label(720) } }, world(), settings());
    expect(d.kind).toBe('plan');
    if (d.kind !== 'plan' || d.target.kind !== 'process') throw new Error('expected a process plan');
    expect(d.action).toBe('stop_process_tree');
    expect(d.target.tree.map((t) => t.pid).sort()).toEqual([720, 721, 722]);
    expect(d.targetBytes).toBe(62 * GiB);
  });

  it('refuses a reused PID, a vanished PID, protected processes and small trees, each with its own code', () => {
    const s = settings({ protect: { cmdline: ['small\\.py'] } });
    const code = (pid: number, startTime = label(pid), snap = world()) =>
      decide({ alertName: 'X', target: { kind: 'process', pid, startTime } }, snap, s).kind === 'refusal'
        ? (decide({ alertName: 'X', target: { kind: 'process', pid, startTime } }, snap, s) as { reasonCode: string }).reasonCode
        : 'plan';
    expect(code(720, '1765000001.00')).toBe('pid_reused');
    expect(code(4242, '1.00')).toBe('target_gone');
    expect(code(1)).toBe('protected');
    expect(code(500)).toBe('protected'); // sshd
    expect(code(610)).toBe('protected'); // session leader of an SSH login
    expect(code(300)).toBe('protected'); // journald
    expect(code(950)).toBe('protected'); // prometheus
    expect(code(900)).toBe('protected'); // the agent itself
    expect(code(700)).toBe('plan'); // a process alert naming tmux itself stops tmux's tree: the alert said so
    expect(code(800)).toBe('protected'); // protect list (cmdline small.py)
    expect(code(720, label(720), world({ details: { 721: { oomScoreAdj: -1000 } } }))).toBe('protected');
    const small = settings({ min_victim_size: '8G' });
    const d = decide({ alertName: 'X', target: { kind: 'process', pid: 800, startTime: label(800) } }, world(), small);
    expect(d.kind === 'refusal' && d.reasonCode).toBe('below_minimum');
  });

  it('says "recovered" when the tree shrank below the re-check threshold', () => {
    const s = settings({ recovered: { process_tree_share_below: 0.5 } });
    const d = decide({ alertName: 'X', target: { kind: 'process', pid: 800, startTime: label(800) } }, world(), s);
    expect(d.kind === 'refusal' && d.reasonCode).toBe('recovered');
    expect(d.kind === 'refusal' && d.reason).toMatch(/recovered/);
  });

  it('throttles the cgroup instead when configured, and refuses the root cgroup', () => {
    const s = settings({ actions: { process: 'throttle' } });
    const d = decide({ alertName: 'X', target: { kind: 'process', pid: 720, startTime: label(720) } }, world(), s);
    expect(d.kind === 'plan' && d.target).toMatchObject({ kind: 'cgroup', path: '/user.slice' });
    const root = decide({ alertName: 'X', target: { kind: 'process', pid: 720, startTime: label(720) } }, world({ details: { 720: { cgroup: '/' } } }), s);
    expect(root.kind === 'refusal' && root.reasonCode).toBe('no_cgroup');
  });
});

describe('decide: host alerts rank victims', () => {
  it('picks the job tree holding the memory, not tmux or the shell above it', () => {
    const d = decide({ alertName: 'HostCritical', target: { kind: 'host' } }, world(), settings());
    expect(d.kind === 'plan' && d.target.kind === 'process' && d.target.root.pid).toBe(720);
  });

  it('does nothing when memory recovered (earlyoom re-check)', () => {
    const d = decide({ alertName: 'HostCritical', target: { kind: 'host' } }, world({ used: 0.5 }), settings());
    expect(d.kind === 'refusal' && d.reasonCode).toBe('recovered');
  });

  it('prefer/avoid and headroom jobs change the ranking', () => {
    const snap = world({ details: { 800: { cgroup: '/headroom.slice/job-1' } } });
    const ranked = rankVictims(snap, settings({ prefer: { cmdline: ['small\\.py'] } }));
    // 4 GiB × 4 (prefer) × 2 (headroom job) = 32 < the 62 GiB job tree.
    expect(chooseVictim(ranked, snap)?.entry.pid).toBe(720);
    expect(ranked.find((c) => c.entry.pid === 800)?.score).toBe(32 * GiB);
    const avoid = rankVictims(snap, settings({ avoid: { cmdline: ['parallel_feature'] }, prefer: { cmdline: ['small\\.py'] } }));
    expect(chooseVictim(avoid, snap)?.entry.pid).toBe(800);
  });

  it('refuses with no_candidate when every large tree is protected', () => {
    const d = decide({ alertName: 'HostCritical', target: { kind: 'host' } }, world(), settings({ protect: { comm: ['^python3$'] } }));
    expect(d.kind === 'refusal' && d.reasonCode).toBe('no_candidate');
  });
});

describe('labels, limits, sshd', () => {
  it('reads targets from untrusted labels', () => {
    expect(targetFromLabels({ pid: '720', start_time: '1765000072.00' })).toEqual({ ok: true, target: { kind: 'process', pid: 720, startTime: '1765000072.00' } });
    expect(targetFromLabels({ pid: '720' }).ok).toBe(false);
    expect(targetFromLabels({ pid: '$(reboot)', start_time: '1.00' }).ok).toBe(false);
    expect(targetFromLabels({ cgroup: '/headroom.slice/train-abc123' })).toEqual({ ok: true, target: { kind: 'cgroup', path: '/headroom.slice/train-abc123' } });
    expect(targetFromLabels({ cgroup: '/headroom.slice/../../etc' }).ok).toBe(false);
    expect(targetFromLabels({ alertname: 'HostMemoryCritical' })).toEqual({ ok: true, target: { kind: 'host' } });
  });

  it('limits actions per window and applies a cooldown', () => {
    const limits = { actionsPerWindow: 2, windowMs: 3_600_000, cooldownMs: 120_000 };
    expect(checkLimits([], 10_000_000, limits)).toBeUndefined();
    expect(checkLimits([10_000_000 - 60_000], 10_000_000, limits)?.reasonCode).toBe('cooldown');
    expect(checkLimits([10_000_000 - 600_000, 10_000_000 - 300_000], 10_000_000, limits)?.reasonCode).toBe('rate_limited');
    expect(checkLimits([10_000_000 - 7_200_000, 10_000_000 - 300_000], 10_000_000, limits)).toBeUndefined();
  });

  it('plans protecting the sshd listener only', () => {
    const plan = planProtectSshd(world());
    expect(plan?.target.kind === 'process' && plan.target.tree.map((t) => t.pid)).toEqual([500]);
  });
});

describe('decide: cgroup alerts', () => {
  const JOB = '/headroom.slice/train-abc';
  /** The job's three processes live in JOB; the cgroup is at `used` of its 40 GiB limit. */
  function cgWorld(o: { used?: number; pids?: number[]; inJob?: Record<number, Partial<ProcessDetailsLite>> } = {}): Snapshot {
    const base = world({ details: { 720: { cgroup: JOB }, 721: { cgroup: JOB }, 722: { cgroup: JOB }, ...o.inJob } });
    const limit = 40 * GiB;
    return { ...base, cgroup: { path: JOB, exists: true, version: 'v2', usageBytes: (o.used ?? 0.97) * limit, limitBytes: limit, pids: o.pids ?? [720, 721, 722] } };
  }
  const req = (path = JOB) => ({ alertName: 'HeadroomCgroupMemoryHigh', target: { kind: 'cgroup' as const, path } });

  it('plans stopping the whole cgroup named by the alert', () => {
    const d = decide(req(), cgWorld(), settings());
    expect(d).toMatchObject({ kind: 'plan', action: 'stop_cgroup', target: { kind: 'cgroup', path: JOB, pids: [720, 721, 722] } });
  });
  it('refuses the root cgroup, a missing cgroup, and one that holds a protected process', () => {
    expect(decide(req('/'), cgWorld(), settings())).toMatchObject({ kind: 'refusal', reasonCode: 'protected' });
    expect(decide(req('/nope'), cgWorld(), settings())).toMatchObject({ kind: 'refusal', reasonCode: 'target_gone' });
    const withSshd = cgWorld({ pids: [720, 721, 722, 500] });
    expect(decide(req(), withSshd, settings())).toMatchObject({ kind: 'refusal', reasonCode: 'protected' });
  });
  it('refuses below the minimum size and when the cgroup has recovered', () => {
    expect(decide(req(), cgWorld(), settings({ min_victim_size: '50G' }))).toMatchObject({ kind: 'refusal', reasonCode: 'below_minimum' });
    expect(decide(req(), cgWorld({ used: 0.5 }), settings())).toMatchObject({ kind: 'refusal', reasonCode: 'recovered' });
  });
  it('with actions.cgroup stop_process_tree, stops the largest tree inside the cgroup and spares protected members', () => {
    const d = decide(req(), cgWorld({ pids: [720, 721, 722, 500] }), settings({ actions: { cgroup: 'stop_process_tree' } }));
    expect(d).toMatchObject({ kind: 'plan', action: 'stop_process_tree', target: { kind: 'process', root: { pid: 720 } } });
  });
});
