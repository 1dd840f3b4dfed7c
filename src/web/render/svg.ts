import { html, raw, type Html } from '../../html/escape.js';

/** Small pure SVG charts for the status page and reports: numbers in, markup out, every label escaped. */

export interface Point {
  readonly x: number;
  readonly y: number;
}

export interface Line {
  readonly points: readonly Point[];
  readonly colour: string;
  readonly label: string;
}

export interface Rule {
  readonly y: number;
  readonly colour: string;
  readonly label: string;
  readonly dashed?: boolean;
}

export interface LineChartSpec {
  readonly title: string;
  readonly lines: readonly Line[];
  readonly rules?: readonly Rule[];
  readonly xMin: number;
  readonly xMax: number;
  readonly yMin: number;
  readonly yMax: number;
  /** Formats a y value for the axis (e.g. "80%", "12 GiB"). */
  readonly yLabel: (y: number) => string;
  /** Formats an x value (e.g. "-10 min"). */
  readonly xLabel: (x: number) => string;
  /** Shown when no line has a point. */
  readonly empty?: string;
}

const W = 600;
const H = 180;
const PAD = { l: 58, r: 10, t: 24, b: 22 };
const n = (v: number): string => (Number.isFinite(v) ? String(Math.round(v * 10) / 10) : '0');

/** A responsive line chart (viewBox; width 100%) with horizontal rules such as warning/critical lines. */
export function lineChart(spec: LineChartSpec): Html {
  const iw = W - PAD.l - PAD.r;
  const ih = H - PAD.t - PAD.b;
  const xr = spec.xMax - spec.xMin || 1;
  const yr = spec.yMax - spec.yMin || 1;
  const sx = (x: number): number => PAD.l + ((x - spec.xMin) / xr) * iw;
  const sy = (y: number): number => PAD.t + ih - ((Math.min(Math.max(y, spec.yMin), spec.yMax) - spec.yMin) / yr) * ih;
  const ticks = [spec.yMin, spec.yMin + yr / 2, spec.yMax];
  const hasData = spec.lines.some((l) => l.points.length > 0);
  const grid = ticks.map(
    (t) =>
      html`<line x1="${n(PAD.l)}" x2="${n(W - PAD.r)}" y1="${n(sy(t))}" y2="${n(sy(t))}" stroke="#e5e7eb"/>${hasData ? html`<text x="${n(PAD.l - 6)}" y="${n(sy(t) + 4)}" text-anchor="end" font-size="11" fill="#555">${spec.yLabel(t)}</text>` : ''}`,
  );
  const xt = [spec.xMin, spec.xMin + xr / 2, spec.xMax].map(
    (t, i) => html`<text x="${n(sx(t))}" y="${n(H - 6)}" text-anchor="${i === 0 ? 'start' : i === 2 ? 'end' : 'middle'}" font-size="11" fill="#555">${spec.xLabel(t)}</text>`,
  );
  // Labels of neighbouring rules (critical 95 %, guard 97 %) are placed side by side, not on top of each other.
  const rules = (spec.rules ?? []).map(
    (r, i) =>
      html`<line x1="${n(PAD.l)}" x2="${n(W - PAD.r)}" y1="${n(sy(r.y))}" y2="${n(sy(r.y))}" stroke="${r.colour}" stroke-width="1.5"${raw(r.dashed === true ? ' stroke-dasharray="6 4"' : '')}/><text x="${n(W - PAD.r - 2 - i * 95)}" y="${n(sy(r.y) - 3)}" text-anchor="end" font-size="11" fill="${r.colour}">${r.label}</text>`,
  );
  const lines = spec.lines.map((l) =>
    l.points.length === 1
      ? html`<circle cx="${n(sx(l.points[0]?.x ?? 0))}" cy="${n(sy(l.points[0]?.y ?? 0))}" r="3" fill="${l.colour}"/>`
      : html`<polyline fill="none" stroke="${l.colour}" stroke-width="2" points="${l.points.map((p) => `${n(sx(p.x))},${n(sy(p.y))}`).join(' ')}"/>`,
  );
  const legend = spec.lines.map((l, i) => html`<tspan fill="${l.colour}" dx="${i === 0 ? '0' : '12'}">■ ${l.label}</tspan>`);
  return html`<svg class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-label="${spec.title}"><title>${spec.title}</title>
<text x="${n(PAD.l)}" y="15" font-size="13" font-weight="600" fill="#111">${spec.title}</text><text x="${n(W - PAD.r)}" y="15" font-size="11" text-anchor="end">${legend}</text>
${grid}${xt}${rules}${hasData ? lines : html`<text x="${n(PAD.l + iw / 2)}" y="${n(PAD.t + ih / 2)}" text-anchor="middle" font-size="12" fill="#777">${spec.empty ?? 'no data yet'}</text>`}
</svg>`;
}

/** A horizontal bar: `value` of `max`, with optional markers (a soft limit, a line). */
export function barChart(value: number, max: number, opts: { colour: string; markers?: ReadonlyArray<{ at: number; colour: string; label: string }>; label: string }): Html {
  const w = 300;
  const h = 18;
  const frac = max > 0 ? Math.min(1, Math.max(0, value / max)) : 0;
  const marks = (opts.markers ?? []).map((m) => {
    const x = max > 0 ? Math.min(1, Math.max(0, m.at / max)) * w : 0;
    return html`<line x1="${n(x)}" x2="${n(x)}" y1="0" y2="${h}" stroke="${m.colour}" stroke-width="2"><title>${m.label}</title></line>`;
  });
  return html`<svg class="bar" viewBox="0 0 ${w} ${h}" preserveAspectRatio="none" role="img" aria-label="${opts.label}"><title>${opts.label}</title><rect width="${w}" height="${h}" fill="#eef0f3"/><rect width="${n(frac * w)}" height="${h}" fill="${opts.colour}"/>${marks}</svg>`;
}

/** A tiny trend line (growth at a glance). */
export function sparkline(values: readonly number[], colour: string, label: string): Html {
  const w = 80;
  const h = 18;
  if (values.length < 2) return html`<svg class="spark" viewBox="0 0 ${w} ${h}" role="img" aria-label="${label}"><title>${label}</title></svg>`;
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const span = hi - lo || 1;
  const pts = values.map((v, i) => `${n((i / (values.length - 1)) * w)},${n(h - 1 - ((v - lo) / span) * (h - 2))}`).join(' ');
  return html`<svg class="spark" viewBox="0 0 ${w} ${h}" role="img" aria-label="${label}"><title>${label}</title><polyline fill="none" stroke="${colour}" stroke-width="1.5" points="${pts}"/></svg>`;
}
