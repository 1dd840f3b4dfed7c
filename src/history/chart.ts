import { escapeHtml } from '../html/escape.js';
import type { HostPoint, SeriesPoint } from './history.js';

/**
 * The incident's memory-over-time chart (issue #11): the victim's resident bytes against the host's used
 * memory and total, with the moments of the timeline marked. Pure: series in, a standalone SVG document out
 * (fixed size, every text escaped, no script, no external reference), written next to the report.
 */
export interface ChartInput {
  readonly title: string;
  readonly host: readonly HostPoint[];
  /** The victim's tree (absent: only the host is drawn). */
  readonly victim?: { readonly label: string; readonly series: readonly SeriesPoint[] };
  /** Vertical markers (first warning, critical, action), epoch ms. */
  readonly marks: ReadonlyArray<{ readonly label: string; readonly atMs: number }>;
}

export const CHART_WIDTH = 760;
export const CHART_HEIGHT = 320;
const M = { left: 70, right: 20, top: 34, bottom: 58 };
const UNITS = [
  { name: 'B', size: 1 },
  { name: 'KiB', size: 1024 },
  { name: 'MiB', size: 1024 ** 2 },
  { name: 'GiB', size: 1024 ** 3 },
  { name: 'TiB', size: 1024 ** 4 },
];

/** A "nice" step (1, 2, 5 × 10^n) giving about `ticks` intervals over `span`. */
export function niceStep(span: number, ticks: number): number {
  if (!(span > 0)) return 1;
  const raw = span / ticks;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

const TIME_STEPS_S = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400];
const hhmmss = (ms: number): string => new Date(ms).toISOString().slice(11, 19);
const num = (n: number): string => (Math.round(n * 10) / 10).toString();

export function renderMemoryChart(input: ChartInput): string {
  const w = CHART_WIDTH;
  const h = CHART_HEIGHT;
  const pw = w - M.left - M.right;
  const ph = h - M.top - M.bottom;
  const times = [...input.host.map((p) => p.atMs), ...(input.victim?.series.map((p) => p.atMs) ?? []), ...input.marks.map((m) => m.atMs)];
  const t0 = times.length > 0 ? Math.min(...times) : 0;
  const t1 = times.length > 0 ? Math.max(...times, t0 + 1000) : 1000;
  const maxBytes = Math.max(1, ...input.host.map((p) => p.totalBytes), ...(input.victim?.series.map((p) => p.value) ?? []));
  const unit = [...UNITS].reverse().find((u) => maxBytes >= u.size) ?? { name: 'B', size: 1 };
  const yStep = niceStep(maxBytes / unit.size, 5) * unit.size;
  const yMax = Math.ceil(maxBytes / yStep) * yStep;
  const x = (ms: number): number => M.left + ((ms - t0) / (t1 - t0)) * pw;
  const y = (bytes: number): number => M.top + ph - (bytes / yMax) * ph;
  const out: string[] = [];
  out.push(`<?xml version="1.0" encoding="UTF-8"?>`);
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="sans-serif" font-size="11">`);
  out.push(`<title>${escapeHtml(input.title)}</title>`);
  out.push(`<rect x="0" y="0" width="${w}" height="${h}" fill="#ffffff"/>`);
  out.push(`<text x="${M.left}" y="18" font-size="13" font-weight="bold">${escapeHtml(input.title)}</text>`);
  // y axis: memory with its unit
  for (let v = 0; v <= yMax + 1e-9; v += yStep) {
    const yy = num(y(v));
    out.push(`<line x1="${M.left}" y1="${yy}" x2="${M.left + pw}" y2="${yy}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${M.left - 6}" y="${yy}" text-anchor="end" dominant-baseline="middle">${escapeHtml(num(v / unit.size))}</text>`);
  }
  out.push(`<text x="14" y="${num(M.top + ph / 2)}" transform="rotate(-90 14 ${num(M.top + ph / 2)})" text-anchor="middle">memory (${unit.name})</text>`);
  // x axis: UTC time
  const spanS = (t1 - t0) / 1000;
  const stepS = TIME_STEPS_S.find((s) => spanS / s <= 8) ?? 86400;
  for (let t = Math.ceil(t0 / (stepS * 1000)) * stepS * 1000; t <= t1; t += stepS * 1000) {
    const xx = num(x(t));
    out.push(`<line x1="${xx}" y1="${M.top + ph}" x2="${xx}" y2="${M.top + ph + 4}" stroke="#333"/>`);
    out.push(`<text x="${xx}" y="${M.top + ph + 16}" text-anchor="middle">${hhmmss(t)}</text>`);
  }
  const day = times.length > 0 ? new Date(t0).toISOString().slice(0, 10) : '';
  out.push(`<text x="${num(M.left + pw / 2)}" y="${h - 24}" text-anchor="middle">time (UTC${day ? `, ${day}` : ''})</text>`);
  out.push(`<line x1="${M.left}" y1="${M.top}" x2="${M.left}" y2="${M.top + ph}" stroke="#333"/>`);
  out.push(`<line x1="${M.left}" y1="${M.top + ph}" x2="${M.left + pw}" y2="${M.top + ph}" stroke="#333"/>`);
  const path = (pts: ReadonlyArray<{ atMs: number; v: number }>): string => pts.map((p, i) => `${i === 0 ? 'M' : 'L'}${num(x(p.atMs))},${num(y(p.v))}`).join(' ');
  if (input.host.length > 0) {
    out.push(`<path d="${path(input.host.map((p) => ({ atMs: p.atMs, v: p.totalBytes })))}" fill="none" stroke="#999" stroke-dasharray="4 3"/>`);
    out.push(`<path d="${path(input.host.map((p) => ({ atMs: p.atMs, v: p.totalBytes - p.availableBytes })))}" fill="none" stroke="#1f77b4" stroke-width="1.5"/>`);
  }
  if (input.victim && input.victim.series.length > 0) {
    out.push(`<path d="${path(input.victim.series.map((p) => ({ atMs: p.atMs, v: p.value })))}" fill="none" stroke="#d62728" stroke-width="2"/>`);
    for (const p of input.victim.series) out.push(`<circle cx="${num(x(p.atMs))}" cy="${num(y(p.value))}" r="2" fill="#d62728"/>`);
  }
  input.marks.forEach((m, i) => {
    const xx = num(x(m.atMs));
    out.push(`<line x1="${xx}" y1="${M.top}" x2="${xx}" y2="${M.top + ph}" stroke="#ff7f0e" stroke-dasharray="2 2"/>`);
    out.push(`<text x="${xx}" y="${M.top + 10 + 12 * i}" text-anchor="end" fill="#b35900">${escapeHtml(m.label)} </text>`);
  });
  // legend
  const ly = h - 8;
  const legend: Array<[string, string, string]> = [
    ['#1f77b4', '', 'host used (total − available)'],
    ['#999', '4 3', 'host total'],
    ...(input.victim ? [['#d62728', '', `victim: ${input.victim.label}`] as [string, string, string]] : []),
  ];
  let lx = M.left;
  for (const [color, dash, label] of legend) {
    out.push(`<line x1="${lx}" y1="${ly - 4}" x2="${lx + 18}" y2="${ly - 4}" stroke="${color}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`);
    const shown = label.length > 60 ? `${label.slice(0, 59)}…` : label;
    out.push(`<text x="${lx + 22}" y="${ly}">${escapeHtml(shown)}</text>`);
    lx += 30 + Math.min(60, label.length) * 6;
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
