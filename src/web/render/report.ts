import { formatBytes, formatDuration } from '../../config/units.js';
import { html, raw, type Html } from '../../html/escape.js';
import type { HostPoint } from '../../history/history.js';
import { similarIncidents } from '../../incidents/render.js';
import type { IncidentRecord } from '../../incidents/types.js';
import type { MemorySummary } from '../../notify/events.js';
import { PAGE_CSS } from './page.js';
import { barChart, lineChart } from './svg.js';

/** An incident report as HTML (pure): the facts, a timeline, before/after charts and the Markdown report. */
export interface ReportModel {
  readonly record: IncidentRecord;
  /** Every incident of the store (for the recurring pattern). */
  readonly all: readonly IncidentRecord[];
  /** The Markdown report as written at the time, when readable. */
  readonly markdown?: string;
  /** Host points of the short history around the incident (when the agent was running then). */
  readonly around: readonly HostPoint[];
  readonly hideCmdlines: boolean;
}

const pct = (r: number): string => `${Math.round(r * 100)}%`;
const t = (iso: string | undefined): string => (iso === undefined ? '—' : `${iso.slice(0, 19).replace('T', ' ')} UTC`);

function memoryBars(label: string, m: MemorySummary | undefined): Html {
  if (m === undefined) return html`<tr><th>${label}</th><td colspan="2" class="muted">not measured</td></tr>`;
  const used = m.totalBytes - m.availableBytes;
  return html`<tr><th>${label}</th><td>${barChart(used, m.totalBytes, { colour: m.usedRatio >= 0.95 ? '#dc2626' : m.usedRatio >= 0.8 ? '#d97706' : '#059669', label: `${pct(m.usedRatio)} used` })}</td><td class="num">${pct(m.usedRatio)} used · ${formatBytes(m.availableBytes)} available${m.swapUsedBytes !== undefined ? ` · swap ${formatBytes(m.swapUsedBytes)}` : ''}</td></tr>`;
}

/** The timeline as a horizontal chart: first warning → critical → action → recovery. */
function timeline(rec: IncidentRecord): Html {
  const events = [
    ['first warning', rec.timeline.firstWarning, '#d97706'],
    ['critical', rec.timeline.critical, '#dc2626'],
    ['action', rec.timeline.action, '#1d4ed8'],
    ['recovery', rec.timeline.recovery, '#059669'],
  ].filter((e): e is [string, string, string] => e[1] !== undefined && !Number.isNaN(Date.parse(e[1])));
  if (events.length === 0) return html``;
  const times = events.map((e) => Date.parse(e[1]));
  const lo = Math.min(...times);
  const hi = Math.max(...times);
  const span = hi - lo || 1;
  const W = 600;
  const x = (ms: number): number => 90 + ((ms - lo) / span) * (W - 180);
  const marks = events.map(([label, iso, colour], i) => {
    const cx = Math.round(x(Date.parse(iso)));
    return html`<circle cx="${cx}" cy="30" r="6" fill="${colour}"/><text x="${cx}" y="${i % 2 === 0 ? 16 : 56}" text-anchor="middle" font-size="11" fill="${colour}">${label} ${iso.slice(11, 19)}</text>`;
  });
  return html`<svg class="timeline" viewBox="0 0 ${W} 64" role="img" aria-label="timeline"><title>Timeline</title><line x1="90" x2="${W - 90}" y1="30" y2="30" stroke="#9ca3af" stroke-width="2"/>${marks}</svg>
<p class="muted">From critical to action: ${rec.timeline.critical && rec.timeline.action ? formatDuration(Math.max(0, Date.parse(rec.timeline.action) - Date.parse(rec.timeline.critical))) : '—'}; time to resolution: ${rec.timeToResolutionSeconds === undefined ? 'not confirmed' : formatDuration(rec.timeToResolutionSeconds * 1000)}.</p>`;
}

export function renderReportPage(m: ReportModel): string {
  const rec = m.record;
  const p = rec.target.process;
  const cmd = p ? (m.hideCmdlines ? `[${p.comm}]` : p.cmdline) : undefined;
  const similar = similarIncidents(rec, m.all);
  const chart =
    m.around.length > 1
      ? lineChart({
          title: 'Available memory around the incident (agent history)',
          lines: [{ points: m.around.map((h) => ({ x: h.atMs, y: h.availableBytes })), colour: '#059669', label: 'available' }],
          xMin: m.around[0]?.atMs ?? 0,
          xMax: m.around[m.around.length - 1]?.atMs ?? 1,
          yMin: 0,
          yMax: m.around[0]?.totalBytes ?? 1,
          yLabel: (y) => formatBytes(y),
          xLabel: (x) => new Date(x).toISOString().slice(11, 19),
        })
      : html`<p class="muted">The agent's short history does not cover this incident (it keeps the last minutes only).</p>`;
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Incident ${rec.id}</title><style>${raw(PAGE_CSS)}</style></head>
<body><header><h1>Incident ${rec.id}${rec.dryRun ? ' (dry run)' : ''}</h1><span>${rec.host}</span><span><a href="../">← status page</a></span></header>
<main>
<section id="summary"><h2>Summary</h2>
<p>${rec.dryRun ? 'headroom would have run' : 'headroom ran'} <b>${rec.action}</b> (${rec.result}) on ${p ? html`PID ${p.pid} <code>${cmd ?? ''}</code>` : html`cgroup <code>${rec.target.cgroup ?? '?'}</code>`}: ${rec.reason}.</p>
<p>${rec.detail}</p>
<div class="scroll"><table>
<tr><th>Alert</th><td>${rec.alertName} (source: ${rec.source})</td></tr>
${rec.freedBytes !== undefined ? html`<tr><th>Freed</th><td><b>${formatBytes(rec.freedBytes)}</b></td></tr>` : ''}
${p ? html`<tr><th>Process</th><td>PID ${p.pid}, started ${p.startTime}${p.user !== undefined ? html`, user ${p.user}` : ''}</td></tr>
<tr><th>Memory</th><td>${formatBytes(p.residentBytes)} resident${p.treeResidentBytes !== undefined ? `, ${formatBytes(p.treeResidentBytes)} with ${(p.treeProcesses ?? 1) - 1} descendants` : ''}${p.treeSwapBytes ? `, + ${formatBytes(p.treeSwapBytes)} in swap` : ''}</td></tr>
${p.runtimeSeconds !== undefined ? html`<tr><th>Runtime</th><td>${formatDuration(p.runtimeSeconds * 1000)}</td></tr>` : ''}
${p.cgroup !== undefined ? html`<tr><th>cgroup</th><td><code>${p.cgroup}</code></td></tr>` : ''}` : ''}
</table></div></section>
<section id="timeline"><h2>Timeline</h2>${timeline(rec)}<div class="scroll"><table>
<tr><th>First warning</th><td>${t(rec.timeline.firstWarning)}</td></tr><tr><th>Critical</th><td>${t(rec.timeline.critical)}</td></tr>
<tr><th>Action</th><td>${t(rec.timeline.action)}</td></tr><tr><th>Recovery</th><td>${rec.timeline.recovery === undefined ? 'not confirmed' : t(rec.timeline.recovery)}</td></tr>${rec.timeline.ended !== undefined ? html`<tr><th>Ended</th><td>${t(rec.timeline.ended)} (${rec.closedBecause ?? 'closed'}${rec.recrossings ? `, after ${rec.recrossings} re-crossing${rec.recrossings === 1 ? '' : 's'}` : ''})</td></tr>` : ''}</table></div></section>
<section id="before-after"><h2>Before / after</h2><div class="scroll"><table>${memoryBars('Before', rec.memoryBefore)}${memoryBars('After', rec.memoryAfter)}</table></div>${chart}</section>
<section id="pattern"><h2>Recurring pattern</h2>${
    similar.length === 0
      ? html`<p class="muted">No earlier incident with the same command or cgroup on ${rec.host}.</p>`
      : html`<p>${similar.length} earlier incident${similar.length === 1 ? '' : 's'} with the same command (<code>${m.hideCmdlines ? '—' : (rec.commandKey ?? '—')}</code>) or cgroup:</p><ul>${similar.slice(-20).map((e) => html`<li><a href="${encodeURIComponent(e.id)}">${e.id}</a> — ${t(e.timeline.action)}, ${e.action} (${e.result})</li>`)}</ul>`
  }</section>
${m.markdown !== undefined && !m.hideCmdlines ? html`<section id="markdown"><h2>Report as written (Markdown)</h2><details><summary>show</summary><pre style="white-space:pre-wrap"><code>${m.markdown}</code></pre></details></section>` : ''}
</main></body></html>
`.value;
}
