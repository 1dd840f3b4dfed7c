import { formatBytes, formatDuration } from '../config/units.js';
import { renderEvidenceSection } from '../evidence/render.js';
import type { MemorySummary } from '../domain/summaries.js';
import type { IncidentRecord } from './types.js';

const DAY_MS = 86_400_000;

/** "python3 train.py" from a command line: the program's base name and its first script-like argument. */
export function commandKey(comm: string, cmdline: readonly string[]): string {
  const base = (s: string): string => s.slice(s.lastIndexOf('/') + 1);
  const program = cmdline[0] !== undefined ? base(cmdline[0].split(' ')[0] ?? comm) : comm;
  const script = cmdline.slice(1).find((a) => !a.startsWith('-'));
  return script === undefined ? program : `${program} ${base(script)}`;
}

/** Earlier incidents on the same host with the same command or the same (non-root) cgroup. */
export function similarIncidents(rec: IncidentRecord, earlier: readonly IncidentRecord[]): IncidentRecord[] {
  const cgroup = rec.target.process?.cgroup ?? rec.target.cgroup;
  return earlier.filter(
    (e) =>
      e.id !== rec.id &&
      e.host === rec.host &&
      Date.parse(e.timeline.action) <= Date.parse(rec.timeline.action) &&
      ((rec.commandKey !== undefined && e.commandKey === rec.commandKey) ||
        (cgroup !== undefined && cgroup !== '/' && (e.target.process?.cgroup ?? e.target.cgroup) === cgroup)),
  );
}

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/[\r\n]+/g, ' ');
const pct = (r: number): string => `${Math.round(r * 100)}%`;
const used = (m: MemorySummary): string => `${formatBytes(m.totalBytes - m.availableBytes)} (${pct(m.usedRatio)})`;
const time = (iso: string | undefined): string => (iso === undefined ? '—' : `${iso.slice(0, 19).replace('T', ' ')} UTC`);

/**
 * The incident report (pure), in the spirit of the December 12 report: summary, timeline, root cause process,
 * before/after table, time to resolution, and the recurring pattern on this host.
 */
export function renderIncident(rec: IncidentRecord, earlier: readonly IncidentRecord[]): string {
  const p = rec.target.process;
  const what = p ? `PID ${p.pid} \`${cell(p.cmdline)}\`` : `cgroup \`${rec.target.cgroup ?? '?'}\``;
  const verb = rec.dryRun ? 'would have run' : 'ran';
  const lines: string[] = [];
  lines.push(`# Incident ${rec.id}${rec.dryRun ? ' (DRY RUN)' : ''}`, '');
  lines.push(`**Host**: ${rec.host}  `, ...(rec.machine ? [`**Machine**: ${rec.machine}  `] : []), `**Alert**: ${rec.alertName} (source: ${rec.source})  `, `**Action**: ${rec.action} — ${rec.result}`, '');
  lines.push('## Summary', '');
  lines.push(
    `Memory was at ${pct(rec.memoryBefore.usedRatio)} (${formatBytes(rec.memoryBefore.availableBytes)} available, ${rec.memoryBefore.scope ?? 'host'}). headroom ${verb} **${rec.action}** on ${what}: ${rec.reason}.`,
  );
  lines.push('', rec.detail, '');
  if (rec.freedBytes !== undefined) lines.push(`Freed: **${formatBytes(rec.freedBytes)}**.`, '');
  lines.push('## Timeline', '', '| Event | Time |', '|---|---|');
  lines.push(`| First warning | ${time(rec.timeline.firstWarning)} |`);
  lines.push(`| Critical | ${time(rec.timeline.critical)} |`);
  lines.push(`| Action | ${time(rec.timeline.action)} |`);
  lines.push(`| Recovery | ${rec.timeline.recovery === undefined ? 'not confirmed' : time(rec.timeline.recovery)} |`);
  if (rec.timeline.ended !== undefined) lines.push(`| Ended | ${time(rec.timeline.ended)} (${rec.closedBecause ?? 'closed'}) |`);
  lines.push('');
  if (p) {
    // Only a stop after which memory recovered shows the process was the cause; otherwise say so.
    const recovered = rec.timeToResolutionSeconds !== undefined || rec.timeline.recovery !== undefined;
    if (recovered || rec.dryRun) lines.push('## Root cause process', '');
    else lines.push('## Stopped process', '', 'Memory did not recover after this action: this process was not shown to be the root cause.', '');
    lines.push('| Field | Value |', '|---|---|');
    lines.push(`| Command | \`${cell(p.cmdline)}\` |`, `| PID | ${p.pid} (started ${p.startTime}) |`);
    if (p.user !== undefined) lines.push(`| User | ${cell(p.user)} |`);
    lines.push(
      `| Memory | ${formatBytes(p.residentBytes)} resident${p.treeResidentBytes !== undefined ? `, ${formatBytes(p.treeResidentBytes)} with ${(p.treeProcesses ?? 1) - 1} descendants` : ''}${p.treeSwapBytes ? `, + ${formatBytes(p.treeSwapBytes)} in swap` : ''} |`,
    );
    if (p.runtimeSeconds !== undefined) lines.push(`| Runtime | ${formatDuration(p.runtimeSeconds * 1000)} |`);
    if (p.cpuSeconds !== undefined) {
      const share = p.runtimeSeconds ? ` (${Math.round((100 * p.cpuSeconds) / p.runtimeSeconds)}% of one CPU on average)` : '';
      lines.push(`| CPU | ${formatDuration(p.cpuSeconds * 1000)}${share} |`);
    }
    if (p.cgroup !== undefined) lines.push(`| cgroup | \`${cell(p.cgroup)}\` |`);
    if (p.pod !== undefined) {
      // kube: namespace/pod and container (the pod UID when the names could not be read)
      const pod = p.pod.namespace === undefined ? p.pod.name : `${p.pod.namespace}/${p.pod.name}`;
      lines.push(`| Pod | ${cell(pod)}${p.pod.container === undefined ? '' : `, container ${cell(p.pod.container)}`} |`);
    }
    lines.push('');
  }
  if (rec.evidence !== undefined) {
    if (rec.diagnosis !== undefined) lines.push(`**Diagnosis**: ${cell(rec.diagnosis)}`, '');
    lines.push(...renderEvidenceSection(rec.evidence));
  }
  if (rec.memoryElsewhere !== undefined && rec.memoryElsewhere !== '') {
    lines.push('## Memory no process owns', '', `${rec.memoryElsewhere}.`, '', 'Stopping processes does not free it; deleting files stays a person\'s decision.', '');
  }
  lines.push('## Before / after', '', '| Metric | Before | After |', '|---|---|---|');
  const after = rec.memoryAfter;
  lines.push(`| Memory used | ${used(rec.memoryBefore)} | ${after ? used(after) : '—'} |`);
  lines.push(`| Available | ${formatBytes(rec.memoryBefore.availableBytes)} | ${after ? formatBytes(after.availableBytes) : '—'} |`);
  if (rec.memoryBefore.swapUsedBytes !== undefined) {
    lines.push(`| Swap used | ${formatBytes(rec.memoryBefore.swapUsedBytes)} | ${after?.swapUsedBytes !== undefined ? formatBytes(after.swapUsedBytes) : '—'} |`);
  }
  for (const [k, v] of Object.entries(rec.actionBefore)) {
    const a = rec.actionAfter[k];
    const fmt = (n: number | undefined): string => (n === undefined ? '—' : k.endsWith('bytes') ? (n < 0 ? 'unlimited' : formatBytes(n)) : String(n));
    lines.push(`| Target ${k.replace(/_/g, ' ')} | ${fmt(v)} | ${fmt(a)} |`);
  }
  lines.push('');
  if (rec.victims !== undefined && rec.victims.length > 0) {
    lines.push('## Victims, in order', '');
    lines.push(`${rec.victims.length} process tree${rec.victims.length === 1 ? '' : 's'} stopped one after another, each after the previous one had exited; ${formatBytes(rec.reclaimedBytes ?? 0)} freed in all. Ended: ${rec.closedBecause ?? 'open'}${rec.timeline.ended !== undefined ? ` at ${time(rec.timeline.ended)}` : ''}.`, '');
    if (rec.recrossings !== undefined && rec.recrossings > 0) {
      lines.push(
        `Memory came back under the recovered line and went past the guard line again ${rec.recrossings === 1 ? 'once' : `${rec.recrossings} times`} within \`remediation.incident.close_after\`: one incident, the victims of every crossing in this table.`,
        '',
      );
    }
    lines.push('| # | PID | Command | Held (resident + swap) | of it swap | Freed | Signal → exit | Escalated | Action at |', '|---|---|---|---|---|---|---|---|---|');
    rec.victims.forEach((v, i) => {
      lines.push(
        `| ${i + 1} | ${v.pid} | \`${cell(v.cmdline)}\` | ${formatBytes(v.heldBytes)} | ${formatBytes(v.swapBytes ?? 0)} | ${v.freedBytes === undefined ? '—' : formatBytes(v.freedBytes)} | ${v.exitSeconds === undefined ? 'not confirmed' : `${v.exitSeconds} s`} | ${v.escalated ? 'SIGKILL early (still below the kill line)' : 'no'} | ${time(v.actionAt)} |`,
      );
    });
    lines.push('');
    for (const j of rec.jobs ?? []) {
      lines.push(`Job \`${cell(j.commandKey)}\`${j.uid !== undefined ? ` (uid ${j.uid})` : ''}: ${j.victims} stopped (${formatBytes(j.heldBytes)}), ${j.stillRunning} more of the same command still running.`, '');
    }
  }
  lines.push(
    `**Time to resolution**: ${rec.timeToResolutionSeconds === undefined ? 'not confirmed (memory had not recovered when checked)' : formatDuration(rec.timeToResolutionSeconds * 1000)}`,
    '',
  );
  const similar = similarIncidents(rec, earlier);
  const at = Date.parse(rec.timeline.action);
  const day = similar.filter((e) => at - Date.parse(e.timeline.action) <= DAY_MS);
  const week = similar.filter((e) => at - Date.parse(e.timeline.action) <= 7 * DAY_MS);
  lines.push('## Recurring pattern', '');
  lines.push(`Same command (\`${cell(rec.commandKey ?? '—')}\`) or group on ${rec.host}: **${day.length}** earlier in the last 24 h, **${week.length}** in the last 7 d.`, '');
  if (week.length > 0) {
    lines.push('| Incident | Time | Process | Memory | Runtime | Action |', '|---|---|---|---|---|---|');
    for (const e of week.slice(-20)) {
      const ep = e.target.process;
      lines.push(
        `| ${e.id} | ${time(e.timeline.action)} | ${cell(ep?.cmdline ?? e.target.cgroup ?? '—')} | ${ep?.treeResidentBytes !== undefined ? formatBytes(ep.treeResidentBytes) : '—'} | ${ep?.runtimeSeconds !== undefined ? formatDuration(ep.runtimeSeconds * 1000) : '—'} | ${e.action} (${e.result}) |`,
      );
    }
    lines.push('');
    if (day.length >= 2) lines.push(`This has happened ${day.length + 1} times in 24 h: limit this job up front (\`headroom run --memory …\`) instead of relying on remediation.`, '');
  }
  return lines.join('\n');
}
