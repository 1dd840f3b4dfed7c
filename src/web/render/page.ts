import { formatBytes, formatDuration } from '../../config/units.js';
import { html, raw, type Html } from '../../html/escape.js';
import type { HostPoint, JobView, TreeView } from '../../history/history.js';
import type { IncidentStatus } from '../../status/types.js';
import { shortenMiddle } from '../../notify/render/format.js';
import { barChart, lineChart, sparkline } from './svg.js';

/** Command lines are shortened in the middle to this many characters in the table (the start and end matter). */
const CMDLINE_SHOWN = 240;

/** Everything the status page shows, gathered by the route (no I/O here: rendering is pure). */
export interface PageModel {
  readonly host: string;
  readonly version: string;
  readonly nowMs: number;
  readonly windowMs: number;
  readonly refreshSeconds: number;
  readonly hideCmdlines: boolean;
  readonly hostSeries: readonly HostPoint[];
  readonly thresholds: { readonly warning: number; readonly critical: number };
  readonly guard: {
    readonly enabled: boolean;
    readonly scope: string;
    readonly availableBelow: number;
    readonly minIntervalMs: number;
    readonly maxIntervalMs: number;
    /** From the latest host point (host scope): available share − line; poll interval at that distance. */
    readonly distance?: number;
    readonly intervalMs?: number;
  };
  readonly trees: readonly TreeView[];
  readonly treesAtMs?: number;
  readonly jobs: readonly JobView[];
  readonly incidents: readonly IncidentStatus[];
  readonly outbox?: { readonly stored: number; readonly pending: Readonly<Record<string, number>>; readonly failed: Readonly<Record<string, number>> };
  /** Problems gathering the model (unreadable state files), shown at the bottom. */
  readonly notes: readonly string[];
}

export const PAGE_CSS = `
*{box-sizing:border-box}body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#111;background:#f6f7f9}
header{background:#1f2937;color:#fff;padding:10px 16px;display:flex;flex-wrap:wrap;gap:4px 16px;align-items:baseline}
header h1{font-size:18px;margin:0}header span{color:#cbd5e1;font-size:13px}header a{color:#cbd5e1}
main{padding:12px;max-width:1200px;margin:0 auto}
section{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:12px;margin:0 0 12px}
h2{font-size:15px;margin:0 0 8px}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));gap:12px}
.chart{width:100%;height:auto;display:block}
.kpis{display:flex;flex-wrap:wrap;gap:8px 24px;margin:0 0 8px}.kpi b{font-size:20px;display:block}.kpi small{color:#555}
.warn b{color:#b45309}.crit b{color:#b91c1c}.ok b{color:#15803d}
.scroll{overflow-x:auto}table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eef0f3;vertical-align:middle}th{color:#555;font-weight:600;white-space:nowrap}
td.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12px;word-break:break-all}
.bar{width:100%;min-width:120px;height:14px;display:block}.spark{width:80px;height:18px}
.muted{color:#666}.badge{display:inline-block;padding:1px 6px;border-radius:4px;font-size:12px;background:#eef0f3}
.badge.bad{background:#fee2e2;color:#991b1b}.badge.good{background:#dcfce7;color:#166534}
a{color:#1d4ed8}
svg.timeline{width:100%;max-width:760px;height:auto;display:block}
@media (max-width:600px){main{padding:6px}section{padding:8px}.hide-sm{display:none}
table.cards thead{display:none}table.cards,table.cards tbody,table.cards tr,table.cards td{display:block;width:100%}
table.cards tr{border-bottom:1px solid #d1d5db;padding:6px 0}table.cards td{border:0;padding:2px 4px;text-align:left}
table.cards td[data-label]::before{content:attr(data-label) ": ";color:#555;font-weight:600}}
`;

const pct = (r: number | undefined): string => (r === undefined || !Number.isFinite(r) ? '?' : `${(r * 100).toFixed(r < 0.1 && r > 0 ? 1 : 0)}%`);
const rate = (bps: number | undefined): string => {
  if (bps === undefined) return '—';
  const perMin = bps * 60;
  if (Math.abs(perMin) < 1024) return '≈ 0/min';
  return `${perMin > 0 ? '+' : ''}${formatBytes(perMin)}/min`;
};
const ago = (nowMs: number) => (x: number): string => {
  const s = Math.round((nowMs - x) / 1000);
  if (s <= 0) return 'now';
  return s < 120 ? `−${s} s` : `−${Math.round(s / 60)} min`;
};

function memoryCharts(m: PageModel): Html {
  const pts = m.hostSeries;
  const last = pts[pts.length - 1];
  const xMin = m.nowMs - m.windowMs;
  const used = pts.map((p) => ({ x: p.atMs, y: p.totalBytes > 0 ? 1 - p.availableBytes / p.totalBytes : 0 }));
  const guardLine = 1 - m.guard.availableBelow;
  const charts: Html[] = [
    lineChart({
      title: 'Memory used',
      lines: [{ points: used, colour: '#2563eb', label: 'used' }],
      rules: [
        { y: m.thresholds.warning, colour: '#d97706', label: `warning ${pct(m.thresholds.warning)}`, dashed: true },
        { y: m.thresholds.critical, colour: '#dc2626', label: `critical ${pct(m.thresholds.critical)}`, dashed: true },
        ...(m.guard.enabled ? [{ y: guardLine, colour: '#7c3aed', label: `guard ${pct(guardLine)}` }] : []),
      ],
      xMin,
      xMax: m.nowMs,
      yMin: 0,
      yMax: 1,
      yLabel: (y) => pct(y),
      xLabel: ago(m.nowMs),
    }),
    lineChart({
      title: 'Available memory',
      lines: [{ points: pts.map((p) => ({ x: p.atMs, y: p.availableBytes })), colour: '#059669', label: 'available' }],
      xMin,
      xMax: m.nowMs,
      yMin: 0,
      yMax: last?.totalBytes ?? 1,
      yLabel: (y) => formatBytes(y),
      xLabel: ago(m.nowMs),
    }),
    lineChart({
      title: 'Swap used',
      lines: [{ points: last?.swapTotalBytes === 0 ? [] : pts.filter((p) => p.swapUsedBytes !== undefined).map((p) => ({ x: p.atMs, y: p.swapUsedBytes ?? 0 })), colour: '#9333ea', label: 'swap' }],
      xMin,
      xMax: m.nowMs,
      yMin: 0,
      yMax: last?.swapTotalBytes || 1,
      yLabel: (y) => formatBytes(y),
      xLabel: ago(m.nowMs),
      empty: last?.swapTotalBytes === 0 ? 'no swap on this machine' : 'no data yet',
    }),
    lineChart({
      title: 'Memory pressure (PSI avg10)',
      lines: [
        { points: pts.filter((p) => p.psiSome10 !== undefined).map((p) => ({ x: p.atMs, y: p.psiSome10 ?? 0 })), colour: '#d97706', label: 'some' },
        { points: pts.filter((p) => p.psiFull10 !== undefined).map((p) => ({ x: p.atMs, y: p.psiFull10 ?? 0 })), colour: '#dc2626', label: 'full' },
      ],
      xMin,
      xMax: m.nowMs,
      yMin: 0,
      yMax: 1,
      yLabel: (y) => pct(y),
      xLabel: ago(m.nowMs),
      empty: 'no PSI on this kernel (or no data yet)',
    }),
  ];
  return html`<div class="grid">${charts}</div>`;
}

function kpis(m: PageModel): Html {
  const last = m.hostSeries[m.hostSeries.length - 1];
  if (last === undefined) return html`<p class="muted">No sample yet.</p>`;
  const used = last.totalBytes > 0 ? 1 - last.availableBytes / last.totalBytes : 0;
  const cls = used >= m.thresholds.critical ? 'crit' : used >= m.thresholds.warning ? 'warn' : 'ok';
  const swap = last.swapTotalBytes === undefined ? '?' : last.swapTotalBytes === 0 ? 'none' : `${formatBytes(last.swapUsedBytes ?? 0)} of ${formatBytes(last.swapTotalBytes)}`;
  return html`<div class="kpis">
<div class="kpi ${cls}"><b>${pct(used)}</b><small>memory used (${formatBytes(last.totalBytes - last.availableBytes)} of ${formatBytes(last.totalBytes)})</small></div>
<div class="kpi"><b>${formatBytes(last.availableBytes)}</b><small>available</small></div>
<div class="kpi"><b>${swap}</b><small>swap used</small></div>
<div class="kpi"><b>${last.psiFull10 === undefined ? '—' : pct(last.psiFull10)}</b><small>pressure full (avg10)</small></div>
</div>`;
}

function guardSection(m: PageModel): Html {
  const g = m.guard;
  if (!g.enabled) return html`<p><span class="badge">guard off</span> <span class="muted">guard.enabled is false: only alerts through the receiver act.</span></p>`;
  const below = g.distance !== undefined && g.distance < 0;
  return html`<p><span class="badge ${below ? 'bad' : 'good'}">guard on</span> watching ${g.scope}: acts when available memory stays below ${pct(g.availableBelow)}.
${g.distance !== undefined ? html` Distance to its line: <b>${g.distance >= 0 ? '+' : ''}${(g.distance * 100).toFixed(1)} points</b>; polling every <b>${g.intervalMs ?? '?'} ms</b> (between ${g.minIntervalMs} and ${g.maxIntervalMs} ms).` : ''}</p>`;
}

function treesTable(m: PageModel, total: number | undefined): Html {
  if (m.trees.length === 0) return html`<p class="muted">No sample of the process trees yet.</p>`;
  const rows = m.trees.map((t) => {
    const share = total ? t.residentBytes / total : 0;
    const cmd = m.hideCmdlines ? `[${t.comm}]` : shortenMiddle(t.cmdline ?? `[${t.comm}]`, CMDLINE_SHOWN);
    return html`<tr><td class="num" data-label="PID">${t.pid}</td><td><code>${cmd}</code></td><td class="hide-sm">${t.user ?? '?'}</td><td class="num" data-label="Memory">${formatBytes(t.residentBytes)}</td>
<td>${barChart(share, 1, { colour: share >= 0.5 ? '#dc2626' : '#2563eb', label: `${pct(share)} of memory` })}<small>${pct(share)}</small></td>
<td class="num" data-label="Runtime">${formatDuration(Math.max(0, m.nowMs / 1000 - t.startTimeSeconds) * 1000)}</td>
<td class="num" data-label="Growth">${rate(t.growthBytesPerSecond)} ${sparkline(t.series.map((p) => p.value), '#2563eb', `resident memory of ${t.pid} over the last minutes`)}</td><td class="num hide-sm">${t.processes}</td></tr>`;
  });
  return html`<div class="scroll"><table class="cards"><thead><tr><th>PID</th><th>Command</th><th class="hide-sm">User</th><th>Memory</th><th>Share</th><th>Runtime</th><th>Growth</th><th class="hide-sm">Procs</th></tr></thead><tbody>${rows}</tbody></table></div>
<p class="muted">Sampled ${m.treesAtMs === undefined ? '?' : ago(m.nowMs)(m.treesAtMs)}; a tree is a job with all its descendants (resident memory, shared pages counted in each process).</p>`;
}

function jobsSection(m: PageModel): Html {
  if (m.jobs.length === 0) return html`<p class="muted">No jobs started by <code>headroom run</code> are running.</p>`;
  const rows = m.jobs.map((j) => {
    const max = j.limitBytes ?? Math.max(j.usageBytes, 1);
    const share = j.limitBytes ? j.usageBytes / j.limitBytes : undefined;
    return html`<tr><td><code>${j.path}</code></td><td class="num" data-label="Memory">${formatBytes(j.usageBytes)}</td><td class="num" data-label="Limit">${j.limitBytes === undefined ? 'no limit' : formatBytes(j.limitBytes)}</td>
<td>${barChart(j.usageBytes, max, { colour: share !== undefined && share >= 0.9 ? '#dc2626' : '#059669', label: `${formatBytes(j.usageBytes)} of ${j.limitBytes === undefined ? 'no limit' : formatBytes(j.limitBytes)}`, markers: j.highBytes !== undefined ? [{ at: j.highBytes, colour: '#d97706', label: `memory.high ${formatBytes(j.highBytes)}` }] : [] })}<small>${share === undefined ? '' : pct(share)}${j.highBytes !== undefined ? ` · high ${formatBytes(j.highBytes)}` : ''}</small></td>
<td class="num" data-label="Growth">${rate(j.growthBytesPerSecond)}</td></tr>`;
  });
  return html`<div class="scroll"><table class="cards"><thead><tr><th>Job cgroup</th><th>Memory</th><th>Limit</th><th>Of limit</th><th>Growth</th></tr></thead><tbody>${rows}</tbody></table></div>`;
}

function incidentsSection(m: PageModel): Html {
  if (m.incidents.length === 0) return html`<p class="muted">No incidents.</p>`;
  const rows = m.incidents.map(
    (i) => html`<tr><td><a href="incidents/${encodeURIComponent(i.id)}">${i.id}</a></td><td class="num" data-label="When">${i.at.slice(0, 19).replace('T', ' ')}</td><td data-label="Action">${i.action}${i.dryRun ? ' (dry run)' : ''}</td><td data-label="Result">${i.result}</td><td class="num" data-label="Freed">${i.freedBytes === undefined ? '' : formatBytes(i.freedBytes)}</td><td class="hide-sm"><code>${m.hideCmdlines ? i.target.replace(/^(PID \d+) .*/, '$1') : i.target}</code></td></tr>`,
  );
  return html`<div class="scroll"><table class="cards"><thead><tr><th>Incident</th><th>When (UTC)</th><th>Action</th><th>Result</th><th>Freed</th><th class="hide-sm">Target</th></tr></thead><tbody>${rows}</tbody></table></div>`;
}

function outboxSection(m: PageModel): Html {
  const o = m.outbox;
  if (o === undefined) return html`<p class="muted">No notification service (no <code>notify</code> section).</p>`;
  const names = [...new Set([...Object.keys(o.pending), ...Object.keys(o.failed)])].sort();
  const rows = names.map((name) => html`<tr><td>${name}</td><td class="num">${o.pending[name] ?? 0}</td><td class="num">${(o.failed[name] ?? 0) > 0 ? html`<span class="badge bad">${o.failed[name] ?? 0}</span>` : '0'}</td></tr>`);
  return html`<p>${o.stored} message${o.stored === 1 ? '' : 's'} stored in the outbox.</p><div class="scroll"><table><thead><tr><th>Notifier</th><th>Pending</th><th>Failed (dropped since start)</th></tr></thead><tbody>${rows}</tbody></table></div>`;
}

/** The whole page: server-rendered, inline CSS and SVG, no script, refreshed by a meta refresh. */
export function renderStatusPage(m: PageModel): string {
  const total = m.hostSeries[m.hostSeries.length - 1]?.totalBytes;
  const at = new Date(m.nowMs).toISOString().slice(0, 19).replace('T', ' ');
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="${m.refreshSeconds}"><title>headroom — ${m.host}</title><style>${raw(PAGE_CSS)}</style></head>
<body><header><h1>headroom — ${m.host}</h1><span>${at} UTC</span><span>agent ${m.version}</span><span>refreshes every ${m.refreshSeconds} s · <a href="metrics">/metrics</a></span></header>
<main>
<section id="memory"><h2>Memory</h2>${kpis(m)}${memoryCharts(m)}</section>
<section id="guard"><h2>Guard</h2>${guardSection(m)}</section>
<section id="trees"><h2>Largest process trees</h2>${treesTable(m, total)}</section>
<section id="jobs"><h2>Jobs (<code>headroom run</code>)</h2>${jobsSection(m)}</section>
<section id="incidents"><h2>Last incidents</h2>${incidentsSection(m)}</section>
<section id="outbox"><h2>Notifications</h2>${outboxSection(m)}</section>
${m.notes.length > 0 ? html`<section id="notes"><h2>Notes</h2><ul>${m.notes.map((n) => html`<li>${n}</li>`)}</ul></section>` : ''}
</main></body></html>
`.value;
}
