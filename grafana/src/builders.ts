/**
 * Small typed builders for Grafana dashboard JSON (schemaVersion 39). Only what headroom's dashboards use;
 * each builder returns plain data, so the generated JSON is a pure function of grafana/src/dashboards.ts.
 */

export const DATASOURCE = { type: 'prometheus', uid: '${datasource}' } as const;

export interface Query {
  readonly expr: string;
  readonly legendFormat?: string;
  /** Table panels read the latest value only. */
  readonly instant?: boolean;
}

export interface QueryTarget {
  readonly refId: string;
  readonly datasource: typeof DATASOURCE;
  readonly expr: string;
  readonly legendFormat: string;
  readonly range: boolean;
  readonly instant: boolean;
  readonly format: 'time_series' | 'table';
}

export type Unit = 'percentunit' | 'bytes' | 'short' | 's' | 'none';

export interface ThresholdStep {
  readonly color: string;
  readonly value: number | null;
}

export interface Override {
  readonly matcher: { readonly id: 'byRegexp' | 'byName'; readonly options: string };
  readonly properties: ReadonlyArray<{ readonly id: string; readonly value: unknown }>;
}

export interface Panel {
  id: number;
  gridPos: { h: number; w: number; x: number; y: number };
  readonly type: 'timeseries' | 'table' | 'stat' | 'row';
  readonly title: string;
  readonly description?: string;
  readonly datasource?: typeof DATASOURCE;
  readonly targets?: readonly QueryTarget[];
  readonly fieldConfig?: { readonly defaults: Record<string, unknown>; readonly overrides: readonly Override[] };
  readonly options?: Record<string, unknown>;
  readonly transformations?: ReadonlyArray<{ readonly id: string; readonly options: Record<string, unknown> }>;
  readonly collapsed?: boolean;
  readonly panels?: readonly Panel[];
  /**
   * Not Grafana's: set on panels whose series exist only after an incident (an alert fired, the receiver acted).
   * The generator strips it; the query test reads it from the TypeScript model.
   */
  readonly incidentOnly?: boolean;
}

export interface PanelSpec {
  readonly title: string;
  readonly description: string;
  readonly queries: readonly Query[];
  readonly unit: Unit;
  /** Grid width (of 24) and height. */
  readonly w: number;
  readonly h?: number;
  readonly min?: number;
  readonly max?: number;
  readonly thresholds?: readonly ThresholdStep[];
  readonly overrides?: readonly Override[];
  readonly incidentOnly?: boolean;
}

function targets(queries: readonly Query[], format: 'time_series' | 'table'): QueryTarget[] {
  return queries.map((q, i) => ({
    refId: String.fromCharCode(65 + i),
    datasource: DATASOURCE,
    expr: q.expr,
    legendFormat: q.legendFormat ?? '',
    range: !q.instant,
    instant: q.instant ?? false,
    format,
  }));
}

const BASE_THRESHOLDS: readonly ThresholdStep[] = [{ color: 'green', value: null }];

function fieldDefaults(spec: PanelSpec, custom: Record<string, unknown>): Record<string, unknown> {
  return {
    unit: spec.unit,
    ...(spec.min === undefined ? {} : { min: spec.min }),
    ...(spec.max === undefined ? {} : { max: spec.max }),
    thresholds: { mode: 'absolute', steps: spec.thresholds ?? BASE_THRESHOLDS },
    custom,
  };
}

function base(spec: PanelSpec, type: Panel['type']): Panel {
  return {
    id: 0,
    gridPos: { h: spec.h ?? 8, w: spec.w, x: 0, y: 0 },
    type,
    title: spec.title,
    description: spec.description,
    datasource: DATASOURCE,
    ...(spec.incidentOnly ? { incidentOnly: true } : {}),
  };
}

export interface TimeseriesSpec extends PanelSpec {
  readonly stack?: boolean;
  /** Draw the thresholds as lines (and the area above them tinted). */
  readonly thresholdLines?: boolean;
  readonly bars?: boolean;
}

export function timeseries(spec: TimeseriesSpec): Panel {
  return {
    ...base(spec, 'timeseries'),
    targets: targets(spec.queries, 'time_series'),
    fieldConfig: {
      defaults: fieldDefaults(spec, {
        drawStyle: spec.bars ? 'bars' : 'line',
        lineWidth: 1,
        fillOpacity: spec.stack ? 60 : spec.bars ? 80 : 10,
        stacking: { mode: spec.stack ? 'normal' : 'none', group: 'A' },
        showPoints: 'never',
        spanNulls: false,
        thresholdsStyle: { mode: spec.thresholdLines ? 'line+area' : 'off' },
      }),
      overrides: spec.overrides ?? [],
    },
    options: {
      legend: { displayMode: 'table', placement: 'right', calcs: ['lastNotNull', 'max'], showLegend: true },
      tooltip: { mode: 'multi', sort: 'desc' },
    },
  };
}

export function stat(spec: PanelSpec): Panel {
  return {
    ...base(spec, 'stat'),
    targets: targets(spec.queries, 'time_series'),
    fieldConfig: { defaults: fieldDefaults(spec, {}), overrides: spec.overrides ?? [] },
    options: {
      reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
      colorMode: 'background',
      graphMode: 'area',
      textMode: 'auto',
      justifyMode: 'auto',
      orientation: 'auto',
    },
  };
}

export interface TableSpec extends PanelSpec {
  /** Columns to hide after the queries are merged on their labels. */
  readonly hide: readonly string[];
  /** Column → display name. */
  readonly rename: Readonly<Record<string, string>>;
  readonly sortBy: string;
}

export function table(spec: TableSpec): Panel {
  return {
    ...base(spec, 'table'),
    targets: targets(
      spec.queries.map((q) => ({ ...q, instant: true })),
      'table',
    ),
    fieldConfig: { defaults: fieldDefaults(spec, { align: 'auto', cellOptions: { type: 'auto' } }), overrides: spec.overrides ?? [] },
    options: { showHeader: true, sortBy: [{ displayName: spec.sortBy, desc: true }], footer: { show: false, reducer: ['sum'], fields: '' } },
    transformations: [
      { id: 'merge', options: {} },
      {
        id: 'organize',
        options: {
          excludeByName: Object.fromEntries(spec.hide.map((c) => [c, true])),
          renameByName: spec.rename,
          indexByName: {},
        },
      },
    ],
  };
}

export function row(title: string): Panel {
  return { id: 0, gridPos: { h: 1, w: 24, x: 0, y: 0 }, type: 'row', title, collapsed: false, panels: [] };
}

/** Dashed lines for threshold series (e.g. the configured 80 % / 95 % from headroom_threshold_ratio). */
export function dashedSeries(regexp: string, color: string): Override {
  return {
    matcher: { id: 'byRegexp', options: regexp },
    properties: [
      { id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } },
      { id: 'custom.fillOpacity', value: 0 },
      { id: 'custom.lineWidth', value: 2 },
      { id: 'color', value: { mode: 'fixed', fixedColor: color } },
    ],
  };
}

/** Lays panels out left to right in 24 columns, wrapping rows; numbers them 1..n. */
export function layout(panels: readonly Panel[]): Panel[] {
  let x = 0;
  let y = 0;
  let rowHeight = 0;
  return panels.map((p, i) => {
    const { w, h } = p.gridPos;
    if (p.type === 'row' || x + w > 24) {
      y += rowHeight;
      x = 0;
      rowHeight = 0;
    }
    const placed: Panel = { ...p, id: i + 1, gridPos: { h, w, x, y } };
    x += w;
    rowHeight = Math.max(rowHeight, h);
    if (p.type === 'row') {
      y += h;
      x = 0;
      rowHeight = 0;
    }
    return placed;
  });
}

export interface Annotation {
  readonly name: string;
  readonly expr: string;
  readonly titleFormat: string;
  readonly textFormat: string;
  readonly iconColor: string;
  readonly tagKeys: string;
}

export interface DashboardSpec {
  readonly uid: string;
  readonly title: string;
  readonly description: string;
  readonly tags: readonly string[];
  readonly panels: readonly Panel[];
  readonly annotations: readonly Annotation[];
  /** Metric whose `instance` label values fill the instance variable. */
  readonly instanceMetric: string;
}

/** The dashboard JSON Grafana imports (without the test-only `incidentOnly` marks). */
export function dashboard(spec: DashboardSpec): Record<string, unknown> {
  return {
    uid: spec.uid,
    title: spec.title,
    description: spec.description,
    tags: spec.tags,
    editable: true,
    graphTooltip: 1,
    refresh: '10s',
    schemaVersion: 39,
    version: 1,
    time: { from: 'now-3h', to: 'now' },
    timepicker: {},
    timezone: 'browser',
    fiscalYearStartMonth: 0,
    liveNow: false,
    weekStart: '',
    links: [],
    annotations: {
      list: [
        {
          builtIn: 1,
          datasource: { type: 'grafana', uid: '-- Grafana --' },
          enable: true,
          hide: true,
          iconColor: 'rgba(0, 211, 255, 1)',
          name: 'Annotations & Alerts',
          type: 'dashboard',
        },
        ...spec.annotations.map((a) => ({
          name: a.name,
          datasource: DATASOURCE,
          enable: true,
          hide: false,
          iconColor: a.iconColor,
          expr: a.expr,
          step: '15s',
          titleFormat: a.titleFormat,
          textFormat: a.textFormat,
          tagKeys: a.tagKeys,
          useValueForTime: false,
        })),
      ],
    },
    templating: {
      list: [
        {
          name: 'datasource',
          label: 'Prometheus',
          type: 'datasource',
          query: 'prometheus',
          current: { selected: false, text: 'Prometheus', value: 'prometheus' },
          hide: 0,
          refresh: 1,
          regex: '',
          options: [],
          includeAll: false,
          multi: false,
          skipUrlSync: false,
        },
        {
          name: 'instance',
          label: 'Host',
          type: 'query',
          datasource: DATASOURCE,
          definition: `label_values(${spec.instanceMetric}, instance)`,
          query: { query: `label_values(${spec.instanceMetric}, instance)`, refId: 'instance' },
          refresh: 2,
          includeAll: true,
          multi: true,
          allValue: '.+',
          current: { selected: true, text: ['All'], value: ['$__all'] },
          hide: 0,
          options: [],
          regex: '',
          sort: 1,
          skipUrlSync: false,
        },
      ],
    },
    panels: spec.panels.map(({ incidentOnly: _incidentOnly, ...p }) => p),
  };
}
