import { describe, expect, it } from 'vitest';
import { formatBytes } from '../../src/config/units.js';
import { requireBuiltCli } from '../support/cli.js';
import { runIncidentReplay } from '../support/replay/incident.js';
import { skipSuite } from '../support/suites.js';

/**
 * Issue 14 end to end: independent jobs grow together past a hard-limited sandbox cgroup (768 MiB) that the
 * agent's guard watches. The guard must stop as many jobs as needed, in ranking order, each after the previous
 * one has exited, until the sandbox is below the recovered line — one incident naming every victim, no refusal
 * for cooldown, the protected bystander and the jobs it did not need untouched. Measured numbers are printed.
 */
describe.skipIf(skipSuite('incident-replay'))('incident replay: several jobs past the line (real processes, v1 cgroup)', () => {
  it('stops one job after another until recovered, in one incident', async () => {
    requireBuiltCli();
    const r = await runIncidentReplay({ log: (l) => console.log(`[incident-replay] ${l}`) });
    if (process.env.HEADROOM_REPLAY_DEBUG) console.log(r.agentLog);
    const actions = r.audit.filter((e) => e.event === 'action');
    const victims = actions.map((a) => {
      const target = a.target as { root?: { pid?: number } } | undefined;
      return r.jobs.find((j) => j.pid === target?.root?.pid)?.name ?? `pid ${target?.root?.pid}`;
    });
    const [incident] = r.incidents;
    for (const [i, v] of (incident?.victims ?? []).entries()) {
      console.log(
        `[incident-replay] victim ${i + 1}: ${victims[i]} pid ${v.pid} held ${formatBytes(v.heldBytes)} (swap ${formatBytes(v.swapBytes ?? 0)}), freed ${formatBytes(v.freedBytes ?? 0)}, ` +
          `signal → exit ${v.exitSeconds ?? '?'} s, escalated ${v.escalated ? 'yes' : 'no'}`,
      );
    }
    // Time per victim as the agent logged it (guard decision: read, rank, re-check, signal, confirmed exit).
    for (const line of r.agentLog.split('\n')) {
      if (!line.includes('"msg":"guard decision"')) continue;
      const d = JSON.parse(line) as { stepMs?: number; crossingToDoneMs?: number; victims?: number; outcome?: string; ended?: string };
      console.log(`[incident-replay] guard step ${d.victims ?? '?'}: ${d.outcome} in ${d.stepMs} ms (crossing → done ${d.crossingToDoneMs} ms)${d.ended ? `, incident ended: ${d.ended}` : ''}`);
    }
    console.log(`[incident-replay] ${victims.length} victims, ${formatBytes(incident?.reclaimedBytes ?? 0)} reclaimed; sandbox ${(r.usedRatioAfter * 100).toFixed(1)} % used after; slack: ${r.slack.map((s) => s.slice(0, 60)).join(' | ')}`);

    // As many as needed: more than one job, not all of them; the largest growers first (ranking order).
    expect(actions.length).toBeGreaterThanOrEqual(2);
    expect(actions.length).toBeLessThan(r.jobs.length);
    expect(victims).toEqual(r.jobs.slice(0, actions.length).map((j) => j.name));
    for (const a of actions) expect(a).toMatchObject({ source: 'guard', reasonCode: 'success', action: 'stop_process_tree' });
    // One incident naming every victim; each victim acted on only after the previous one had exited.
    expect(r.incidents).toHaveLength(1);
    expect(incident?.victims?.map((v) => v.pid)).toEqual(actions.map((a) => (a.target as { root: { pid: number } }).root.pid));
    expect(new Set(actions.map((a) => a.incidentId))).toEqual(new Set([incident?.id]));
    const vs = incident?.victims ?? [];
    for (let i = 1; i < vs.length; i++) {
      const prev = vs[i - 1];
      expect(prev?.exitedAt).toBeDefined();
      expect(Date.parse(vs[i]?.actionAt ?? '')).toBeGreaterThanOrEqual(Date.parse(prev?.exitedAt ?? ''));
    }
    for (const v of vs) expect(v.heldBytes).toBeGreaterThan(32 * 1024 * 1024);
    expect(incident?.closedBecause).toBe('recovered');
    expect(incident?.memoryAfter?.usedRatio).toBeLessThan(r.recoveredBelow);
    // Back under the line (the survivors keep growing to their cap, which stays below the guard line).
    expect(r.usedRatioAfter).toBeLessThan(1 - r.guardLine);
    // The report groups the jobs by command and says how many of the same command still run.
    const report = r.incidentReports.join('\n');
    expect(report).toMatch(/incident_job\.py/);
    expect(report).toContain(`${r.jobs.length - actions.length} more of the same command still running`);
    // No refusal for cooldown (or the rate limit) while past the line; no second incident.
    expect(r.audit.filter((e) => e.event === 'refusal' && (e.reasonCode === 'cooldown' || e.reasonCode === 'rate_limited'))).toEqual([]);
    // Nothing else touched: the bystander and the jobs that were not victims still run; the victims ended by the guard's SIGTERM.
    expect(r.bystanderAliveAfter).toBe(true);
    for (const j of r.jobs.slice(actions.length)) expect(j.aliveAfter).toBe(true);
    for (const j of r.jobs.slice(0, actions.length)) expect(j.endedBy).toBe('SIGTERM');
    // One notification for the first action, one summary when the incident ended — not one per victim.
    expect(r.slack.filter((t) => t.startsWith('[action]'))).toHaveLength(1);
    expect(r.slack.filter((t) => t.startsWith('[incident]'))).toHaveLength(1);
  }, 240_000);
  it('a re-crossing after recovery, within close_after, continues the same incident: one incident naming every victim in order', async () => {
    requireBuiltCli();
    const r = await runIncidentReplay({ scenario: 'staggered', log: (l) => console.log(`[incident-replay staggered] ${l}`) });
    if (process.env.HEADROOM_REPLAY_DEBUG) console.log(r.agentLog);
    const actions = r.audit.filter((e) => e.event === 'action');
    const pidOf = (a: (typeof actions)[number]): number | undefined => (a.target as { root?: { pid?: number } } | undefined)?.root?.pid;
    const victims = actions.map((a) => r.jobs.find((j) => j.pid === pidOf(a))?.name ?? `pid ${pidOf(a)}`);
    const [incident] = r.incidents;
    for (const [i, v] of (incident?.victims ?? []).entries()) {
      console.log(`[incident-replay staggered] victim ${i + 1}: ${victims[i]} pid ${v.pid} held ${formatBytes(v.heldBytes)}, freed ${formatBytes(v.freedBytes ?? 0)}, signal → exit ${v.exitSeconds ?? '?'} s, at ${v.actionAt}`);
    }
    const recovery = Date.parse(incident?.timeline.recovery ?? '');
    const ended = Date.parse(incident?.timeline.ended ?? '');
    console.log(
      `[incident-replay staggered] ${r.incidents.length} incident(s), ${victims.length} victims (${victims.join(', ')}), ${formatBytes(incident?.reclaimedBytes ?? 0)} reclaimed; ` +
        `under the line between crossings at ${((r.dipBetween ?? 0) * 100).toFixed(1)} % used; critical ${incident?.timeline.critical} → recovered ${incident?.timeline.recovery} → ended ${incident?.timeline.ended}; ` +
        `re-crossings ${incident?.recrossings ?? 0}; slack: ${r.slack.map((t) => t.slice(0, 50)).join(' | ')}`,
    );

    // The sandbox really went under the recovered line between the two crossings (the test measured it).
    expect(r.dipBetween).toBeLessThan(r.recoveredBelow);
    // Exactly one incident, naming both victims in order: job-a (the first crossing), job-c (the second).
    expect(r.incidents).toHaveLength(1);
    expect(victims).toEqual(['job-a', 'job-c']);
    expect(incident?.victims?.map((v) => v.pid)).toEqual(actions.map(pidOf));
    expect(new Set(actions.map((a) => a.incidentId))).toEqual(new Set([incident?.id]));
    expect(incident).toMatchObject({ closedBecause: 'recovered', recrossings: 1 });
    // Its report says when it finally ended: close_after after memory came back for good.
    expect(ended - recovery).toBeGreaterThanOrEqual((r.closeAfterMs ?? 0) - 1000);
    const report = r.incidentReports.join('\n');
    expect(r.incidentReports).toHaveLength(1);
    expect(report).toMatch(/\| Ended \| .* UTC \(recovered\) \|/);
    expect(report).toContain('went past the guard line again once');
    expect(report).toContain('1 more of the same command still running');
    // One audit line for the incident; no cooldown or rate refusals; the survivor and the bystander untouched.
    expect(r.audit.filter((e) => e.event === 'incident')).toHaveLength(1);
    expect(r.audit.filter((e) => e.event === 'refusal' && (e.reasonCode === 'cooldown' || e.reasonCode === 'rate_limited'))).toEqual([]);
    expect(r.bystanderAliveAfter).toBe(true);
    expect(r.jobs.find((j) => j.name === 'job-b')?.aliveAfter).toBe(true);
    for (const j of r.jobs.filter((x) => x.name !== 'job-b')) expect(j.endedBy).toBe('SIGTERM');
    // One notification thread: the first victim's action message, then one summary — no second incident message.
    expect(r.slack.filter((t) => t.startsWith('[action]'))).toHaveLength(1);
    expect(r.slack.filter((t) => t.startsWith('[incident]'))).toHaveLength(1);
  }, 300_000);
});
