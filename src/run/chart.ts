import { formatBytes, formatDuration } from '../config/units.js';

const BLOCKS = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'] as const;

/**
 * A terminal sparkline of a series, `width` characters wide at most: each character is the maximum of its
 * bucket (a memory spike never averages away), scaled from 0 to `scaleMax` (the limit, so a full block means
 * "at the limit"; defaults to the series maximum). Empty series → "".
 */
export function sparkline(values: readonly number[], width: number, scaleMax?: number): string {
  if (values.length === 0 || width < 1) return '';
  const buckets = Math.min(width, values.length);
  const top = Math.max(scaleMax ?? 0, ...values);
  let out = '';
  for (let b = 0; b < buckets; b++) {
    const from = Math.floor((b * values.length) / buckets);
    const to = Math.max(from + 1, Math.floor(((b + 1) * values.length) / buckets));
    const peak = Math.max(...values.slice(from, to));
    const level = top > 0 ? Math.min(BLOCKS.length - 1, Math.floor((peak / top) * (BLOCKS.length - 1) + 0.5)) : 0;
    out += BLOCKS[Math.max(0, level)];
  }
  return out;
}

export interface ChartPoint {
  /** Seconds since the job started. */
  readonly t: number;
  readonly bytes: number;
}

export interface ChartInput {
  readonly title: string;
  readonly points: readonly ChartPoint[];
  readonly limitBytes?: number;
  readonly highBytes?: number;
  readonly width?: number;
  readonly height?: number;
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] ?? c);
}

function fmt(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}

/**
 * The memory-over-time chart of a run as a standalone SVG: the job's memory as a filled line, the hard limit
 * (red, dashed) and soft limit (orange, dotted) as horizontal lines, the peak marked and labelled, time and
 * size axes with a few ticks. At most 1000 points are drawn (bucket maxima), so a 10-hour run stays small.
 */
export function renderMemoryChartSvg(input: ChartInput): string {
  const width = input.width ?? 800;
  const height = input.height ?? 320;
  const m = { left: 80, right: 20, top: 36, bottom: 40 };
  const plotW = width - m.left - m.right;
  const plotH = height - m.top - m.bottom;
  const pts = downsample(input.points, 1000);
  const tMax = Math.max(1, ...pts.map((p) => p.t));
  const yMax = Math.max(1, input.limitBytes ?? 0, input.highBytes ?? 0, ...pts.map((p) => p.bytes)) * 1.05;
  const x = (t: number): number => m.left + (t / tMax) * plotW;
  const y = (b: number): number => m.top + plotH - (b / yMax) * plotH;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  parts.push(`<text x="${m.left}" y="20" font-size="14" font-weight="bold">${escapeXml(input.title)}</text>`);
  for (let i = 0; i <= 4; i++) {
    const b = (yMax / 1.05) * (i / 4);
    const yy = fmt(y(b));
    parts.push(`<line x1="${m.left}" x2="${m.left + plotW}" y1="${yy}" y2="${yy}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${m.left - 6}" y="${yy}" text-anchor="end" dominant-baseline="middle">${escapeXml(formatBytes(b))}</text>`);
  }
  for (let i = 0; i <= 4; i++) {
    const t = tMax * (i / 4);
    parts.push(`<text x="${fmt(x(t))}" y="${height - m.bottom + 18}" text-anchor="middle">${escapeXml(formatDuration(t * 1000))}</text>`);
  }
  parts.push(`<line x1="${m.left}" x2="${m.left}" y1="${m.top}" y2="${m.top + plotH}" stroke="#333"/>`);
  parts.push(`<line x1="${m.left}" x2="${m.left + plotW}" y1="${m.top + plotH}" y2="${m.top + plotH}" stroke="#333"/>`);
  if (pts.length > 0) {
    const line = pts.map((p) => `${fmt(x(p.t))},${fmt(y(p.bytes))}`).join(' ');
    const first = pts[0] as ChartPoint;
    const last = pts[pts.length - 1] as ChartPoint;
    parts.push(`<polygon points="${fmt(x(first.t))},${fmt(y(0))} ${line} ${fmt(x(last.t))},${fmt(y(0))}" fill="#4e79a7" fill-opacity="0.25"/>`);
    parts.push(`<polyline points="${line}" fill="none" stroke="#4e79a7" stroke-width="1.5"/>`);
    const peak = pts.reduce((a, b) => (b.bytes > a.bytes ? b : a));
    parts.push(`<circle cx="${fmt(x(peak.t))}" cy="${fmt(y(peak.bytes))}" r="3" fill="#e15759"/>`);
    parts.push(
      `<text x="${fmt(Math.min(x(peak.t) + 6, width - m.right - 150))}" y="${fmt(Math.max(y(peak.bytes) - 6, m.top + 12))}">peak ${escapeXml(formatBytes(peak.bytes))} at ${escapeXml(formatDuration(peak.t * 1000))}</text>`,
    );
  }
  if (input.limitBytes !== undefined) {
    const yy = fmt(y(input.limitBytes));
    parts.push(`<line x1="${m.left}" x2="${m.left + plotW}" y1="${yy}" y2="${yy}" stroke="#d62728" stroke-dasharray="6 4"/>`);
    parts.push(`<text x="${m.left + plotW}" y="${fmt(y(input.limitBytes) - 4)}" text-anchor="end" fill="#d62728">limit ${escapeXml(formatBytes(input.limitBytes))}</text>`);
  }
  if (input.highBytes !== undefined) {
    const yy = fmt(y(input.highBytes));
    parts.push(`<line x1="${m.left}" x2="${m.left + plotW}" y1="${yy}" y2="${yy}" stroke="#f28e2b" stroke-dasharray="2 3"/>`);
    parts.push(`<text x="${m.left + plotW}" y="${fmt(y(input.highBytes) - 4)}" text-anchor="end" fill="#f28e2b">high ${escapeXml(formatBytes(input.highBytes))}</text>`);
  }
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

/** Keeps at most `max` points: the highest point of each bucket (with its time), so peaks survive. */
export function downsample(points: readonly ChartPoint[], max: number): ChartPoint[] {
  if (points.length <= max) return [...points];
  const out: ChartPoint[] = [];
  for (let b = 0; b < max; b++) {
    const from = Math.floor((b * points.length) / max);
    const to = Math.floor(((b + 1) * points.length) / max);
    let best = points[from] as ChartPoint;
    for (let i = from + 1; i < to; i++) {
      const p = points[i] as ChartPoint;
      if (p.bytes > best.bytes) best = p;
    }
    out.push(best);
  }
  return out;
}
