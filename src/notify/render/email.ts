import { html, type Html } from '../../html/escape.js';
import type { MemorySummary, Notification, ProcessSummary } from '../events.js';
import { actionTitle, bytes, ellipsize, growingLine, memoryLine, oneLine, processMemory, processName, seconds, shortenMiddle, swapLine, timestamp } from './format.js';
import { renderText } from './text.js';

/** An e-mail rendering of a notification: subject, plain-text body and HTML body. Pure. */
export interface EmailMessage {
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

export interface EmailRenderOptions {
  /** Prepended to the subject, e.g. "[headroom]"; empty for none. */
  readonly subjectPrefix: string;
  /** The link to an incident's report (from notify.email.report_base_url), when there is one. */
  readonly reportUrl?: (incidentId: string) => string;
  /** The report is attached to this message (its file name), said in the body. */
  readonly attachedReport?: string;
}

const SUBJECT_MAX = 160;

function subjectOf(n: Notification): string {
  const host = oneLine(n.host);
  switch (n.kind) {
    case 'warning':
      return `${n.severity === 'warning' ? 'Warning' : 'Info'} on ${host}: ${oneLine(n.alertName)} — ${oneLine(n.summary)}`;
    case 'action':
      return `${n.dryRun ? 'Dry run' : 'Action'} on ${host}: ${actionTitle(n.action, n.dryRun, n.target)}`;
    case 'refusal':
      return `Nothing stopped on ${host}: ${oneLine(n.alertName)} (${oneLine(n.reasonCode)})`;
    case 'resolved':
      return `Resolved on ${host}: ${oneLine(n.alertName)}`;
    case 'incident':
      return `Incident over on ${host}: ${n.victims.length} stopped, ${bytes(n.reclaimedBytes)} reclaimed (${oneLine(n.closedBecause)})`;
  }
}

/** The rows of facts shown in both bodies, as [label, value]. */
function facts(n: Notification, opts: EmailRenderOptions): Array<[string, string]> {
  const rows: Array<[string, string]> = [
    ['Host', oneLine(n.host)],
    ['Alert', oneLine(n.alertName)],
    ['When', timestamp(n.at)],
  ];
  const memory = (label: string, m: MemorySummary | undefined): void => {
    if (m === undefined) return;
    rows.push([label, `${memoryLine(m)}${m.scope !== undefined ? ` (${oneLine(m.scope)})` : ''}`]);
    const swap = swapLine(m);
    if (swap !== undefined) rows.push(['Swap', swap]);
  };
  switch (n.kind) {
    case 'warning':
      rows.push(['Severity', n.severity], ['Summary', oneLine(n.summary)]);
      if (n.description !== undefined) rows.push(['Description', oneLine(n.description)]);
      memory('Memory', n.memory);
      if (n.predictedExhaustionSeconds !== undefined) rows.push(['Exhaustion', n.predictedExhaustionSeconds <= 0 ? 'now' : `in ~${seconds(n.predictedExhaustionSeconds)}`]);
      if (n.growth) rows.push(['Growing', growingLine(n.growth)]);
      if (n.runbookUrl !== undefined) rows.push(['Runbook', oneLine(n.runbookUrl)]);
      break;
    case 'action': {
      rows.push(['Action', actionTitle(n.action, n.dryRun, n.target)], ['Decided by', n.source], ['Why', oneLine(n.reason)]);
      const p = n.target.process;
      if (p) rows.push(['Process', `${processName(p)}, ${processMemory(p)}${p.runtimeSeconds !== undefined ? `, running ${seconds(p.runtimeSeconds)}` : ''}`], ['Command', shortenMiddle(oneLine(p.cmdline), 300)]);
      if (p?.user !== undefined) rows.push(['User', oneLine(p.user)]);
      if (n.target.cgroup !== undefined) rows.push(['Cgroup', oneLine(n.target.cgroup)]);
      memory('Memory before', n.memoryBefore);
      memory('Memory after', n.memoryAfter);
      if (n.freedBytes !== undefined) rows.push(['Freed', bytes(n.freedBytes)]);
      if (n.timeToResolutionSeconds !== undefined) rows.push(['Resolved in', seconds(n.timeToResolutionSeconds)]);
      if (n.growth !== undefined) rows.push(['Growth', oneLine(n.growth)]);
      if (n.incidentId !== undefined) {
        rows.push(['Incident', oneLine(n.incidentId)]);
        if (opts.reportUrl) rows.push(['Report', opts.reportUrl(n.incidentId)]);
        if (opts.reportUrl && n.chart !== undefined) rows.push(['Chart', opts.reportUrl(n.chart)]);
      }
      if (opts.attachedReport !== undefined) rows.push(['Attached', opts.attachedReport]);
      break;
    }
    case 'refusal':
      rows.push(['Reason', `${oneLine(n.reason)} (${oneLine(n.reasonCode)})`], ['Decided by', n.source]);
      memory('Memory', n.memory);
      break;
    case 'resolved':
      rows.push(['Summary', oneLine(n.summary)], ['Started', timestamp(n.startsAt)], ['Ended', timestamp(n.endsAt)]);
      if (n.durationSeconds !== undefined) rows.push(['Lasted', seconds(n.durationSeconds)]);
      break;
    case 'incident':
      rows.push(['Ended because', oneLine(n.closedBecause)], ['Why', oneLine(n.reason)], ['Decided by', n.source], ['Reclaimed', bytes(n.reclaimedBytes)]);
      n.victims.forEach((v, i) => {
        const freed = v.freedBytes !== undefined ? `, freed ${bytes(v.freedBytes)}` : '';
        rows.push([`Victim ${i + 1}`, `PID ${v.pid} held ${bytes(v.heldBytes)}${freed}${v.escalated ? ' (SIGKILL under thrash)' : ''}: ${shortenMiddle(oneLine(v.cmdline), 200)}`]);
      });
      for (const j of n.jobs) if (j.stillRunning > 0) rows.push(['Still running', `${j.stillRunning} more of ${shortenMiddle(oneLine(j.commandKey), 120)}`]);
      memory('Memory before', n.memoryBefore);
      memory('Memory after', n.memoryAfter);
      if (n.durationSeconds !== undefined) rows.push(['Lasted', seconds(n.durationSeconds)]);
      rows.push(['Incident', oneLine(n.incidentId)]);
      if (opts.reportUrl) rows.push(['Report', opts.reportUrl(n.incidentId)]);
      if (opts.reportUrl && n.chart !== undefined) rows.push(['Chart', opts.reportUrl(n.chart)]);
      if (opts.attachedReport !== undefined) rows.push(['Attached', opts.attachedReport]);
      break;
  }
  rows.push(['Notification id', n.id]);
  return rows;
}

function processes(n: Notification): readonly ProcessSummary[] {
  if (n.kind === 'warning') return n.topProcesses;
  if (n.kind === 'refusal') return n.candidates ?? [];
  return [];
}

const COLOURS: Readonly<Record<Notification['kind'], string>> = { warning: '#b45309', action: '#b91c1c', refusal: '#1d4ed8', resolved: '#15803d', incident: '#7c2d12' };

/** Renders one notification as an e-mail. Every value from the notification is escaped in the HTML body. */
export function renderEmail(n: Notification, opts: EmailRenderOptions): EmailMessage {
  const prefix = opts.subjectPrefix.trim();
  const subject = ellipsize(`${prefix ? `${prefix} ` : ''}${subjectOf(n)}`, SUBJECT_MAX);
  const rows = facts(n, opts);
  const procs = processes(n).slice(0, 10);
  const width = Math.max(...rows.map(([k]) => k.length));
  const textLines = [renderText(n), '', ...rows.map(([k, v]) => `${`${k}:`.padEnd(width + 2)}${v}`)];
  if (procs.length > 0) {
    textLines.push('', 'Largest processes:');
    for (const p of procs) textLines.push(`  ${processName(p)}  ${processMemory(p)}  ${shortenMiddle(oneLine(p.cmdline), 120)}`);
  }
  textLines.push('', '-- headroom');
  const link = (k: string, v: string): Html | string => (k === 'Report' || k === 'Chart' || k === 'Runbook') && /^https?:\/\//.test(v) ? html`<a href="${v}">${v}</a>` : v;
  const body = html`<!doctype html><html><head><meta charset="utf-8"><title>${subject}</title></head>
<body style="font-family:system-ui,sans-serif;color:#111;max-width:720px">
<h2 style="color:${COLOURS[n.kind]};margin:0 0 8px">${subjectOf(n)}</h2>
<table style="border-collapse:collapse">${rows.map(([k, v]) => html`<tr><th style="text-align:left;padding:2px 12px 2px 0;vertical-align:top">${k}</th><td style="padding:2px 0">${link(k, v)}</td></tr>`)}</table>
${procs.length > 0 ? html`<h3>Largest processes</h3><table style="border-collapse:collapse">${procs.map((p) => html`<tr><td style="padding:2px 12px 2px 0">${processName(p)}</td><td style="padding:2px 12px 2px 0">${processMemory(p)}</td><td><code>${shortenMiddle(oneLine(p.cmdline), 120)}</code></td></tr>`)}</table>` : ''}
<p style="color:#666">— headroom</p>
</body></html>
`;
  return { subject, text: `${textLines.join('\n')}\n`, html: body.value };
}
