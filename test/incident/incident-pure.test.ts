import { describe, expect, it } from 'vitest';
import { escalation } from '../../src/actions/escalation.js';
import { parseConfig, parseConfigText } from '../../src/config/load.js';
import { settled } from '../../src/guard/guard.js';
import { policySettings } from '../../src/policy/settings.js';
import { chooseVictim, rankVictims } from '../../src/policy/ranking.js';
import type { ProcessDetailsLite, Snapshot } from '../../src/policy/types.js';
import { ProcessTable, type ProcessEntry } from '../../src/procfs/process-table.js';
import {
  closeHeld,
  closeIncident,
  conditionScope,
  continuesHeld,
  groupVictims,
  heldUntil,
  holdExpired,
  holdIncident,
  IncidentBook,
  incidentLimit,
  jobKey,
  lateAlertOf,
  openIncident,
  resumeIncident,
  withVictim,
  type IncidentVictim,
} from '../../src/remediation/incident.js';
import { endEpisode, episodeSummary, forgettable, observeRefusal, type EpisodeState } from '../../src/remediation/refusal-episodes.js';
import { guardTrigger } from '../../src/remediation/stages/intake.js';
import { incidentReport, stillRunning } from '../../src/remediation/stages/incident.js';
import { renderIncident } from '../../src/incidents/render.js';
import { processMemory } from '../../src/notify/render/format.js';
import { summarizeProcess } from '../../src/remediation/summaries.js';
import type { ActionRecord } from '../../src/remediation/action-record.js';
import type { CriticalTrigger } from '../../src/remediation/trigger.js';
import { yamlProblems } from '../support/config-problems.js';

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;
const T0 = Date.parse('2025-12-12T03:12:00Z');
const memory = (used: number) => ({ totalBytes: 2 * GiB, availableBytes: Math.round(2 * GiB * (1 - used)), usedRatio: used, scope: 'host' });
const limits = policySettings(parseConfig({}, 'test').remediation).incident;

function victim(pid: number, heldMiB: number, o: Partial<IncidentVictim> = {}): IncidentVictim {
  return {
    pid, startTime: `${pid}.00`, comm: 'python3', cmdline: 'python3 job.py', commandKey: 'python3 job.py', uid: 1000, heldBytes: heldMiB * MiB, swapBytes: 0,
    processes: 1, actionAt: new Date(T0).toISOString(), result: 'success', freedBytes: heldMiB * MiB, auditKey: `k${pid}`, ...o,
  };
}

describe('the incident (pure)', () => {
  it('defaults that would have saved the issue machine: 12 victims, 100 % of memory reclaimed, escalation at 2 % after 1 s', () => {
    expect(limits.maxVictims).toBe(12);
    expect(limits.maxReclaimBytes(2 * GiB)).toBe(2 * GiB);
    expect(limits.killBelow).toBe(0.02);
    expect(limits.escalateAfterMs).toBe(1000);
    expect(limits.settleMs).toBe(2000);
    // A dozen 180 MiB jobs on a 2 GiB machine: stopping all but one stays within both bounds.
    let inc = openIncident('i1', guardTrigger({ at: new Date(T0) }), 'host', new Date(T0), memory(0.983));
    for (let i = 0; i < 11; i++) {
      expect(incidentLimit(inc, { heldBytes: 180 * MiB }, 2 * GiB, limits)).toBeUndefined();
      inc = withVictim(inc, victim(100 + i, 180), memory(0.95 - i * 0.05));
    }
    expect(inc.victims.map((v) => v.pid)).toEqual([100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110]);
    expect(inc.reclaimedBytes).toBe(11 * 180 * MiB);
  });

  it('stops at max_victims, and at max_reclaim (but never refuses the first victim for its size)', () => {
    const tight = { ...limits, maxVictims: 2, maxReclaimBytes: () => 300 * MiB };
    let inc = openIncident('i2', guardTrigger({ at: new Date(T0) }), 'host', new Date(T0), memory(0.99));
    expect(incidentLimit(inc, { heldBytes: 400 * MiB }, 2 * GiB, tight)).toBeUndefined();
    inc = withVictim(inc, victim(1, 200), memory(0.95));
    expect(incidentLimit(inc, { heldBytes: 150 * MiB }, 2 * GiB, tight)).toMatchObject({ code: 'incident_max_reclaim', because: 'max_reclaim' });
    expect(incidentLimit(inc, { heldBytes: 50 * MiB }, 2 * GiB, tight)).toBeUndefined();
    inc = withVictim(inc, victim(2, 50), memory(0.93));
    const over = incidentLimit(inc, { heldBytes: 1 }, 2 * GiB, tight);
    expect(over).toMatchObject({ code: 'incident_max_victims', because: 'max_victims' });
    expect(over?.reason).toContain('remediation.incident.max_victims: 2');
  });

  it('a late Alertmanager alert for the guard\'s condition is a duplicate; a later one, or another scope, is not', () => {
    const book = new IncidentBook();
    const guard = openIncident('g', guardTrigger({ at: new Date(T0), scope: '/sandbox' }), '/sandbox', new Date(T0), memory(0.99));
    book.set(guard);
    const alert = (startsAt: number, target: CriticalTrigger['target'] = { ok: true, target: { kind: 'cgroup', path: '/sandbox' } }): CriticalTrigger => ({
      kind: 'critical', source: 'receiver', key: `fp|${startsAt}`, alertName: 'HeadroomCgroupMemoryHigh', target, startsAt: new Date(startsAt), fingerprint: 'fp',
    });
    expect(conditionScope(alert(T0))).toBe('/sandbox');
    expect(lateAlertOf(alert(T0 + 60_000), book.get('/sandbox'))).toBe(true); // still open
    book.set(closeIncident(guard, new Date(T0 + 30_000), 'recovered', 'back under the line'));
    expect(book.open('/sandbox')).toBeUndefined();
    expect(lateAlertOf(alert(T0 + 10_000), book.get('/sandbox'))).toBe(true); // began before the guard's incident ended
    expect(lateAlertOf(alert(T0 + 40_000), book.get('/sandbox'))).toBe(false); // a new condition
    expect(conditionScope(alert(T0, { ok: true, target: { kind: 'host' } }))).toBe('host');
    expect(book.get('host')).toBeUndefined();
  });

  it('close_after: recovered → held (open); a re-crossing within the hold continues it (guard: the guard\'s incident; receiver: the same alert); the hold expires at recovery + close_after', () => {
    const closeAfter = limits.closeAfterMs;
    expect(closeAfter).toBe(90_000);
    const first = openIncident('g', guardTrigger({ at: new Date(T0) }), 'host', new Date(T0), memory(0.99));
    const one = withVictim(first, victim(101, 200), memory(0.8));
    const held = holdIncident(one, new Date(T0 + 10_000), 'under the recovered line', memory(0.8), []);
    const book = new IncidentBook();
    book.set(held);
    expect(book.open('host')).toBe(held); // held is open: not closed
    expect(book.held()).toEqual([held]);
    expect(heldUntil(held, closeAfter)?.getTime()).toBe(T0 + 10_000 + closeAfter);
    const crossing = guardTrigger({ at: new Date(T0 + 40_000) });
    expect(continuesHeld(held, crossing, new Date(T0 + 40_000), closeAfter)).toBe(true);
    expect(continuesHeld(held, crossing, new Date(T0 + 10_000 + closeAfter), closeAfter)).toBe(false); // the hold is over
    expect(holdExpired(held, new Date(T0 + 10_000 + closeAfter - 1), closeAfter)).toBe(false);
    expect(holdExpired(held, new Date(T0 + 10_000 + closeAfter), closeAfter)).toBe(true);
    expect(continuesHeld(held, guardTrigger({ at: new Date(T0 + 40_000), scope: '/other' }), new Date(T0 + 40_000), closeAfter)).toBe(false); // another scope
    const receiver = (fp: string): CriticalTrigger => ({ kind: 'critical', source: 'receiver', key: `${fp}|x`, fingerprint: fp, alertName: 'HeadroomHostMemoryHigh', target: { ok: true, target: { kind: 'host' } }, startsAt: new Date(T0) });
    expect(continuesHeld(held, receiver('fp'), new Date(T0 + 40_000), closeAfter)).toBe(false); // the guard's incident: not the receiver's to continue
    expect(lateAlertOf(receiver('fp'), held)).toBe(true); // a late Alertmanager alert during the hold is a duplicate
    const rHeld = holdIncident({ ...openIncident('r', receiver('fp'), 'host', new Date(T0), memory(0.99)), victims: [] }, new Date(T0), 'ok', memory(0.8), []);
    expect(continuesHeld(rHeld, receiver('fp'), new Date(T0 + 1000), closeAfter)).toBe(true); // the same alert repeated
    expect(continuesHeld(rHeld, receiver('fp2'), new Date(T0 + 1000), closeAfter)).toBe(false);
    // Resumed: no longer held; a second victim appended in order; recovered again; closed at the end of the hold.
    const resumed = resumeIncident(held);
    expect(resumed.recovered).toBeUndefined();
    expect(resumed.recrossings).toBe(1);
    // max_reclaim counts from the re-crossing (memory was seen back, so what came back was not held elsewhere);
    // max_victims counts the whole incident.
    const tight = { ...limits, maxReclaimBytes: () => 300 * MiB, maxVictims: 2 };
    expect(incidentLimit(one, { heldBytes: 150 * MiB }, 2 * GiB, tight)).toMatchObject({ code: 'incident_max_reclaim' });
    expect(incidentLimit(resumed, { heldBytes: 250 * MiB }, 2 * GiB, tight)).toBeUndefined();
    const again = incidentLimit(withVictim(resumed, victim(103, 100), memory(0.9)), { heldBytes: 250 * MiB }, 2 * GiB, { ...tight, maxVictims: 3 });
    expect(again?.code).toBe('incident_max_reclaim');
    expect(again?.reason).toContain('since memory last went past the line again');
    expect(incidentLimit(withVictim(resumed, victim(103, 10), memory(0.9)), { heldBytes: 10 * MiB }, 2 * GiB, tight)).toMatchObject({ code: 'incident_max_victims' });
    const two = withVictim(resumed, victim(102, 150), memory(0.85));
    const heldAgain = holdIncident(two, new Date(T0 + 50_000), 'memory (host) is at 70.0 % used, below the recovered line of 90.0 %', memory(0.7), []);
    const closed = closeHeld(heldAgain, new Date(T0 + 50_000 + closeAfter), closeAfter);
    expect(closed.victims.map((v) => v.pid)).toEqual([101, 102]);
    expect(closed.closed).toMatchObject({ because: 'recovered', at: new Date(T0 + 50_000 + closeAfter) });
    expect(closed.closed?.reason).toBe('memory (host) is at 70.0 % used, below the recovered line of 90.0 %; it stayed there for 90 s (remediation.incident.close_after: 90 s) after 1 re-crossing of the line');
    expect(lateAlertOf({ ...receiver('fp'), startsAt: new Date(T0 + 100_000) }, closed)).toBe(true); // began before it ended
    expect(lateAlertOf({ ...receiver('fp'), startsAt: new Date(T0 + 50_000 + closeAfter + 1) }, closed)).toBe(false);
  });

  it('the report of a held-then-closed incident: recovery when memory came back for good, ended close_after later, the re-crossings', () => {
    const closeAfter = limits.closeAfterMs;
    const inc = openIncident('20251212T031200Z-pid101', guardTrigger({ at: new Date(T0) }), 'host', new Date(T0), memory(0.99));
    const first = {
      trigger: guardTrigger({ at: new Date(T0) }), host: 'ml-box-1', startedAt: new Date(T0 + 1000), dryRun: false,
      plan: { kind: 'plan', action: 'stop_process_tree', target: { kind: 'host' }, reason: 'python3 is the best victim', targetBytes: 200 * MiB },
      target: {}, ending: { kind: 'threw', message: 'x' },
    } as unknown as ActionRecord;
    const two = withVictim(withVictim(inc, victim(101, 200), memory(0.9)), victim(102, 150), memory(0.7));
    const closed = closeHeld(holdIncident(resumeIncident(holdIncident(two, new Date(T0 + 5000), 'a', memory(0.8), [])), new Date(T0 + 20_000), 'b', memory(0.7), []), new Date(T0 + 20_000 + closeAfter), closeAfter);
    const rec = incidentReport(closed, first, [], undefined);
    expect(rec.timeline).toMatchObject({ recovery: new Date(T0 + 20_000).toISOString(), ended: new Date(T0 + 20_000 + closeAfter).toISOString() });
    expect(rec.timeToResolutionSeconds).toBe(20);
    expect(rec.recrossings).toBe(1);
    const md = renderIncident(rec, []);
    expect(md).toContain('| Ended | 2025-12-12 03:13:50 UTC (recovered) |');
    expect(md).toContain('went past the guard line again once within `remediation.incident.close_after`');
  });

  it('groups victims into jobs (command + user) and counts the trees of the same command still running', () => {
    const e = (pid: number, ppid: number): ProcessEntry => ({
      pid, ppid, pgrp: pid, session: pid, comm: 'python3', state: 'S', isKernelThread: false, residentBytes: 100 * MiB, virtualBytes: 0, cpuSeconds: 1, startTicks: pid, startTimeSeconds: pid,
    });
    // Three more trees of job.py (one with a worker child), one of other.py, one of job.py by another user.
    const entries = [e(10, 1), e(11, 10), e(20, 1), e(30, 1), e(40, 1), e(50, 1)];
    const details = new Map<number, ProcessDetailsLite>([
      [10, { cmdline: ['python3', 'job.py'], uid: 1000 }], [11, { cmdline: ['python3', 'job.py'], uid: 1000 }], [20, { cmdline: ['python3', 'job.py'], uid: 1000 }],
      [30, { cmdline: ['python3', '/home/u/job.py', '--fast'], uid: 1000 }], [40, { cmdline: ['python3', 'other.py'], uid: 1000 }], [50, { cmdline: ['python3', 'job.py'], uid: 0 }],
    ]);
    const snap = { processes: new ProcessTable(entries), details } as unknown as Snapshot;
    const victims = [victim(1, 180), victim(2, 170), victim(3, 90, { commandKey: 'python3 other.py', cmdline: 'python3 other.py' })];
    const running = stillRunning(snap, victims);
    expect(running.get(jobKey('python3 job.py', 1000))).toBe(3);
    expect(running.get(jobKey('python3 other.py', 1000))).toBe(1);
    expect(groupVictims(victims, running)).toEqual([
      { commandKey: 'python3 job.py', uid: 1000, victims: 2, heldBytes: 350 * MiB, stillRunning: 3 },
      { commandKey: 'python3 other.py', uid: 1000, victims: 1, heldBytes: 90 * MiB, stillRunning: 1 },
    ]);
  });
});

describe('escalation under thrash (pure)', () => {
  const rule = { graceMs: 10_000, escalateAfterMs: 1000, killBelow: 0.02 };
  it('SIGKILL after escalate_after while available memory is still below kill_below; the whole grace otherwise', () => {
    expect(escalation(500, 0.006, rule)).toBe('wait'); // too early even under thrash
    expect(escalation(1000, 0.006, rule)).toBe('kill_thrash');
    expect(escalation(1000, 0.019, rule)).toBe('kill_thrash');
    expect(escalation(5000, 0.02, rule)).toBe('wait'); // at the line is not below it
    expect(escalation(9999, 0.3, rule)).toBe('wait'); // a healthy machine gives the job its grace
    expect(escalation(10_000, 0.3, rule)).toBe('kill_grace');
    expect(escalation(5000, undefined, rule)).toBe('wait'); // no reading: the grace
  });
});

describe('settle between victims (pure)', () => {
  it('the next victim waits until the previous one\'s memory shows up as available, or the settle time is up', () => {
    expect(settled(100 * MiB, 120 * MiB, 200 * MiB, 50, 2000)).toBe(false);
    expect(settled(100 * MiB, 200 * MiB, 200 * MiB, 50, 2000)).toBe(true);
    expect(settled(100 * MiB, 100 * MiB, undefined, 1999, 2000)).toBe(false);
    expect(settled(100 * MiB, 100 * MiB, 200 * MiB, 2000, 2000)).toBe(true);
  });
});

describe('refusal episodes (pure, fake clock)', () => {
  it('two refusals a second for 110 s are one episode: the first is written, the rest counted, one closing line with count and span', () => {
    let state: EpisodeState = new Map();
    let written = 0;
    let clock = T0;
    for (let i = 0; i < 220; i++) {
      const o = observeRefusal(state, { stream: 'guard|host', reasonCode: 'no_candidate', reason: `memory at ${(98 + (i % 10) / 10).toFixed(1)} % used; no process tree of at least 100 MiB may be stopped` }, clock, 600_000);
      state = o.state;
      if (o.write) written += 1;
      expect(o.ended).toBeUndefined();
      clock += 500;
    }
    expect(written).toBe(1);
    const end = endEpisode(state, 'guard|host');
    expect(end.ended).toMatchObject({ count: 220, firstMs: T0, lastMs: T0 + 219 * 500, reasonCode: 'no_candidate' });
    expect(episodeSummary(end.ended ?? { stream: '', reasonCode: '', reason: '', firstMs: 0, lastMs: 0, count: 0 })).toMatch(/^refused 220 times in 109\.5 s \(2025-12-12T03:12:00\.000Z – 2025-12-12T03:13:49\.500Z\)/);
    expect(end.state.size).toBe(0);
  });

  it('a different refusal ends the episode; a lone refusal has no closing line; an episode is cut after its maximum span', () => {
    let s: EpisodeState = new Map();
    s = observeRefusal(s, { stream: 'g', reasonCode: 'no_candidate', reason: 'x' }, 0, 10_000).state;
    s = observeRefusal(s, { stream: 'g', reasonCode: 'no_candidate', reason: 'x' }, 100, 10_000).state;
    const other = observeRefusal(s, { stream: 'g', reasonCode: 'protected', reason: 'y' }, 200, 10_000);
    expect(other).toMatchObject({ write: true, ended: { count: 2, reasonCode: 'no_candidate' } });
    expect(endEpisode(other.state, 'g').ended).toBeUndefined(); // one refusal only: nothing to summarise
    let t: EpisodeState = new Map();
    t = observeRefusal(t, { stream: 'g', reasonCode: 'no_candidate', reason: 'x' }, 0, 10_000).state;
    t = observeRefusal(t, { stream: 'g', reasonCode: 'no_candidate', reason: 'x' }, 5000, 10_000).state;
    expect(observeRefusal(t, { stream: 'g', reasonCode: 'no_candidate', reason: 'x' }, 10_000, 10_000)).toMatchObject({ write: true, ended: { count: 2 } });
    // Streams are independent.
    expect(observeRefusal(t, { stream: 'receiver|host', reasonCode: 'no_candidate', reason: 'x' }, 6000, 10_000).write).toBe(true);
  });

  it('forgettable: a lone refusal past the maximum span; forgetting it changes neither the next refusal nor the end', () => {
    const lone = observeRefusal(new Map(), { stream: 'k', reasonCode: 'target_gone', reason: 'PID 7 is no longer running' }, 0, 10_000).state;
    const e = lone.get('k');
    if (e === undefined) throw new Error('no episode');
    expect(forgettable(e, 9_999, 10_000)).toBe(false); // a repeat now would still join it
    expect(forgettable(e, 10_000, 10_000)).toBe(true);
    const sig = { stream: 'k', reasonCode: 'target_gone', reason: 'PID 7 is no longer running' } as const;
    const kept = observeRefusal(lone, sig, 10_000, 10_000);
    const forgotten = observeRefusal(new Map(), sig, 10_000, 10_000);
    expect({ write: kept.write, ended: kept.ended, episode: kept.state.get('k') }).toEqual({ write: forgotten.write, ended: forgotten.ended, episode: forgotten.state.get('k') });
    expect(endEpisode(lone, 'k').ended).toBeUndefined();
    const twice = observeRefusal(lone, sig, 1_000, 10_000).state.get('k');
    if (twice === undefined) throw new Error('no episode');
    expect(forgettable(twice, 1_000_000, 10_000)).toBe(false); // it has a closing line to write
  });
});

describe('ranking by what a victim really holds (resident + swap)', () => {
  it('a tree pushed to swap outranks a larger-resident one that holds less', () => {
    const e = (pid: number, rssMiB: number): ProcessEntry => ({
      pid, ppid: 1, pgrp: pid, session: pid, comm: 'python3', state: 'S', isKernelThread: false, residentBytes: rssMiB * MiB, virtualBytes: 0, cpuSeconds: 1, startTicks: pid, startTimeSeconds: pid,
    });
    const snap: Snapshot = {
      at: new Date(T0),
      memory: memory(0.99),
      hostMemTotalBytes: 2 * GiB,
      processes: new ProcessTable([e(1, 1), e(10, 140), e(20, 160)]),
      details: new Map<number, ProcessDetailsLite>([
        [1, { cmdline: ['init'], oomScoreAdj: 0, cgroup: '/' }],
        [10, { cmdline: ['python3', 'a.py'], oomScoreAdj: 0, cgroup: '/user.slice', swapBytes: 40 * MiB }],
        [20, { cmdline: ['python3', 'b.py'], oomScoreAdj: 0, cgroup: '/user.slice', swapBytes: 0 }],
      ]),
      self: { pid: 999, ppid: 1 },
    };
    const settings = policySettings(parseConfig({ remediation: { min_victim_size: '100M' } }, 'test').remediation);
    const ranked = rankVictims(snap, settings);
    expect(ranked.map((c) => [c.entry.pid, c.treeBytes / MiB, c.treeSwapBytes / MiB])).toEqual([[10, 180, 40], [20, 160, 0]]);
    expect(chooseVictim(ranked, snap)?.entry.pid).toBe(10);
    // The action message and the report's root-cause row say what it holds in swap too (not resident alone).
    const summary = summarizeProcess(10, snap);
    expect(summary).toMatchObject({ residentBytes: 140 * MiB, treeSwapBytes: 40 * MiB });
    expect(processMemory(summary ?? { pid: 0, startTime: '', comm: '', cmdline: '', residentBytes: 0 })).toBe('140 MiB, + 40.0 MiB in swap');
    expect(summarizeProcess(20, snap)?.treeSwapBytes).toBeUndefined();
  });
});

describe('config: remediation.incident', () => {
  const problems = yamlProblems;
  it('errors name the key and what is allowed', () => {
    expect(problems('remediation:\n  incident:\n    max_victims: 0\n')[0]).toMatch(/^remediation\.incident\.max_victims: .*whole number from 1 to 100/);
    expect(problems('remediation:\n  incident:\n    max_victims: 2.5\n')[0]).toMatch(/remediation\.incident\.max_victims: .*whole number from 1 to 100/);
    expect(problems('remediation:\n  incident:\n    max_reclaim: lots\n')[0]).toMatch(/^remediation\.incident\.max_reclaim: .*must be/);
    expect(problems('remediation:\n  incident:\n    kill_below: 1.5\n')[0]).toMatch(/^remediation\.incident\.kill_below: .*ratio above 0 and at most 1/);
    expect(problems('remediation:\n  incident:\n    settle: soon\n')[0]).toMatch(/^remediation\.incident\.settle: /);
    expect(problems('remediation:\n  incident:\n    max_victim: 3\n')[0]).toMatch(/^remediation\.incident\.max_victim: unknown key .*allowed keys here: max_victims, max_reclaim, settle, kill_below, escalate_after, close_after/);
    expect(problems('remediation:\n  incident:\n    close_after: later\n')[0]).toMatch(/^remediation\.incident\.close_after: got "later"; must be a duration such as 250ms, 90s/);
  });
  it('accepts sizes and percentages', () => {
    const c = parseConfigText('remediation:\n  incident:\n    max_victims: 4\n    max_reclaim: 1G\n    kill_below: 1%\n    escalate_after: 500ms\n', 'ok.yml');
    expect(c.remediation.incident).toMatchObject({ max_victims: 4, max_reclaim: { kind: 'bytes', bytes: GiB }, kill_below: 0.01, escalate_after: 500 });
  });
});

describe('the incident summary notification renders (pure)', () => {
  it('text and Slack name every victim (within limits) and the jobs still running', async () => {
    const { renderText } = await import('../../src/notify/render/text.js');
    const { renderSlackMessage } = await import('../../src/notify/render/slack.js');
    const n = {
      kind: 'incident' as const, id: 'x', host: 'box', at: new Date(T0).toISOString(), alertName: 'HeadroomGuard', source: 'guard' as const, incidentId: '20251212T031200Z-pid101',
      closedBecause: 'recovered', reason: '12 victims stopped one after another; ended: memory back under the line',
      victims: Array.from({ length: 12 }, (_, i) => ({ pid: 100 + i, cmdline: 'python3 parallel_feature_testing.py single audusd', heldBytes: 180 * MiB, swapBytes: 40 * MiB, freedBytes: 180 * MiB, exitSeconds: 0.4, escalated: i === 0 })),
      jobs: [{ commandKey: 'python3 parallel_feature_testing.py', victims: 12, stillRunning: 0 }],
      reclaimedBytes: 12 * 180 * MiB, memoryBefore: memory(0.983), memoryAfter: memory(0.62), durationSeconds: 14,
    };
    const text = renderText(n);
    expect(text).toMatch(/^\[incident\] box: HeadroomGuard — 12 victims stopped, 2\.1 GiB freed; memory 98(\.3)? ?% → 62 ?% used; ended: recovered/);
    expect(text).toContain('1. pid 100');
    expect(text).toContain('SIGKILL early');
    expect(text).toContain('+6 more');
    expect(text).toContain('python3 parallel_feature_testing.py: 12 stopped, 0 more of the same command still running');
    const slack = JSON.stringify(renderSlackMessage(n));
    expect(slack).toContain('Victims, in order');
    expect(slack).toContain('pid 111');
    expect(slack).toContain('0 more of the same command still running');
    const { renderEmail } = await import('../../src/notify/render/email.js');
    const mail = renderEmail({ ...n, jobs: [{ commandKey: 'python3 parallel_feature_testing.py', victims: 12, stillRunning: 2 }] }, { subjectPrefix: '[hr]', reportUrl: (id) => `http://h/incidents/${id}` });
    expect(mail.subject).toBe('[hr] Incident over on box: 12 stopped, 2.1 GiB reclaimed (recovered)');
    expect(mail.text).toMatch(/^Victim 1: +PID 100 held 180 MiB, freed 180 MiB \(SIGKILL under thrash\): python3 parallel_feature_testing\.py single audusd$/m);
    expect(mail.text).toMatch(/^Victim 12: +PID 111 /m);
    expect(mail.text).toMatch(/^Still running: +2 more of python3 parallel_feature_testing\.py$/m);
    expect(mail.text).toMatch(/^Report: +http:\/\/h\/incidents\/20251212T031200Z-pid101$/m);
    expect(mail.html).toContain('Victim 12');
  });
});
