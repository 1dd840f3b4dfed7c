import { dashboard, dashedSeries, layout, row, stat, table, timeseries, type DashboardSpec, type Panel } from './builders.js';

/** Label matcher for the dashboard's host variable. */
const I = 'instance=~"$instance"';
const thr = (names: string): string => `headroom_threshold_ratio{${I}, threshold=~"${names}"}`;

const RED = 'red';
const ORANGE = 'orange';

/** The panels of the host dashboard, with the test-only `incidentOnly` marks (see builders.ts). */
export function hostPanels(): Panel[] {
  return layout([
    row('Host memory'),
    stat({
      title: 'Memory used',
      description: 'used = 1 - MemAvailable/MemTotal (recording rule headroom:memory_used:ratio). Orange from 80 %, red from 95 % (the default thresholds).',
      queries: [{ expr: `headroom:memory_used:ratio{${I}}`, legendFormat: '{{instance}}' }],
      unit: 'percentunit',
      min: 0,
      max: 1,
      w: 4,
      thresholds: [
        { color: 'green', value: null },
        { color: ORANGE, value: 0.8 },
        { color: RED, value: 0.95 },
      ],
    }),
    timeseries({
      title: 'Memory used % with the alert thresholds',
      description:
        'Host memory used (1 - MemAvailable/MemTotal). The dashed lines are the thresholds the agent exports from its config (headroom_threshold_ratio): warning (80 % by default) and critical (95 %), the lines the alerts compare against.',
      queries: [
        { expr: `headroom:memory_used:ratio{${I}}`, legendFormat: 'used {{instance}}' },
        { expr: thr('host_memory_warning|host_memory_critical'), legendFormat: '{{threshold}} {{instance}}' },
      ],
      unit: 'percentunit',
      min: 0,
      max: 1,
      w: 20,
      overrides: [dashedSeries('host_memory_warning.*', ORANGE), dashedSeries('host_memory_critical.*', RED)],
    }),
    timeseries({
      title: 'Available memory and swap',
      description:
        'MemAvailable (what new work can get without swapping), its linear prediction 30 minutes ahead from the last 15 minutes (the exhaustion alert fires when it reaches 0), and swap used against swap total.',
      queries: [
        { expr: `headroom_memory_available_bytes{${I}}`, legendFormat: 'available {{instance}}' },
        { expr: `headroom:memory_available_bytes:predict_linear15m_30m{${I}}`, legendFormat: 'available in 30 min (predicted) {{instance}}' },
        { expr: `headroom:swap_used:bytes{${I}}`, legendFormat: 'swap used {{instance}}' },
        { expr: `headroom_swap_total_bytes{${I}}`, legendFormat: 'swap total {{instance}}' },
      ],
      unit: 'bytes',
      w: 12,
      overrides: [dashedSeries('.*predicted.*', ORANGE), dashedSeries('swap total.*', 'blue')],
    }),
    timeseries({
      title: 'Pressure stall (PSI)',
      description:
        'Share of time tasks were stalled, per resource: "full" = all non-idle tasks at once (for memory: thrashing, the state in which sshd stops answering), "some" = at least one. The dashed line is the memory_pressure_full threshold of the pressure alert.',
      queries: [
        { expr: `rate(headroom_pressure_stalled_seconds_total{${I}}[$__rate_interval])`, legendFormat: '{{resource}} full {{instance}}' },
        { expr: `rate(headroom_pressure_waiting_seconds_total{${I}}[$__rate_interval])`, legendFormat: '{{resource}} some {{instance}}' },
        { expr: thr('memory_pressure_full'), legendFormat: '{{threshold}} {{instance}}' },
      ],
      unit: 'percentunit',
      min: 0,
      w: 12,
      overrides: [dashedSeries('memory_pressure_full.*', RED)],
    }),
    row('Processes and groups'),
    table({
      title: 'Top processes',
      description:
        'The largest processes the agent exports (top K by resident memory, everything above the floor, job leaders with large trees). Tree = the process and its descendants; share = tree (or process) / MemTotal, the value the process alerts compare against.',
      queries: [
        { expr: `topk(25, headroom_process_resident_bytes{${I}})` },
        { expr: `headroom_process_tree_resident_bytes{${I}}` },
        { expr: `headroom:process_memory:ratio{${I}}` },
        { expr: `headroom:process_cpu:rate5m{${I}}` },
        { expr: `headroom_process_swap_bytes{${I}}` },
      ],
      unit: 'short',
      w: 24,
      h: 10,
      sortBy: 'resident',
      hide: ['Time', 'job', '__name__'],
      rename: { 'Value #A': 'resident', 'Value #B': 'tree resident', 'Value #C': 'share of RAM', 'Value #D': 'CPU cores', 'Value #E': 'swap' },
      overrides: [
        { matcher: { id: 'byRegexp', options: '^(resident|tree resident|swap)$' }, properties: [{ id: 'unit', value: 'bytes' }] },
        { matcher: { id: 'byName', options: 'share of RAM' }, properties: [{ id: 'unit', value: 'percentunit' }] },
      ],
    }),
    timeseries({
      title: 'Process groups (stacked)',
      description: 'Resident memory by process group (configured matchers, else by comm; the rest summed into "other"). The groups add up to all processes.',
      queries: [{ expr: `headroom_group_resident_bytes{${I}}`, legendFormat: '{{group}} {{instance}}' }],
      unit: 'bytes',
      w: 12,
      stack: true,
    }),
    timeseries({
      title: 'Largest process trees (share of RAM)',
      description: 'The five largest process trees as a share of MemTotal; the dashed line is process_tree_critical, where the critical process alert fires and headroom stops the tree.',
      queries: [
        { expr: `topk(5, headroom:process_memory:ratio{${I}})`, legendFormat: '{{comm}} pid {{pid}} {{instance}}' },
        { expr: thr('process_tree_critical'), legendFormat: '{{threshold}} {{instance}}' },
      ],
      unit: 'percentunit',
      min: 0,
      w: 12,
      overrides: [dashedSeries('process_tree_critical.*', RED)],
    }),
    row('cgroups'),
    timeseries({
      title: 'cgroups against their limits',
      description:
        'Working set (usage minus inactive page cache) as a share of each cgroup\'s hard limit; cgroups without a limit are not shown. Dashed: the cgroup warning and critical thresholds.',
      queries: [
        { expr: `headroom:cgroup_memory:ratio{${I}}`, legendFormat: '{{cgroup}} {{instance}}' },
        { expr: thr('cgroup_warning|cgroup_critical'), legendFormat: '{{threshold}} {{instance}}' },
      ],
      unit: 'percentunit',
      min: 0,
      w: 12,
      overrides: [dashedSeries('cgroup_warning.*', ORANGE), dashedSeries('cgroup_critical.*', RED)],
    }),
    timeseries({
      title: 'cgroup memory usage',
      description: 'Memory charged to each exported cgroup (headroom jobs always, then the largest).',
      queries: [{ expr: `headroom_cgroup_memory_usage_bytes{${I}}`, legendFormat: '{{cgroup}} {{instance}}' }],
      unit: 'bytes',
      w: 12,
    }),
    timeseries({
      title: 'OOM kills',
      description: 'Processes killed by the kernel OOM killer per interval: host-wide (vmstat oom_kill) and inside each cgroup. Zero on a healthy host.',
      queries: [
        { expr: `increase(headroom_oom_kills_total{${I}}[$__rate_interval])`, legendFormat: 'host {{instance}}' },
        { expr: `sum by (instance, cgroup) (increase(headroom_cgroup_memory_events_total{${I}, event="oom_kill"}[$__rate_interval]))`, legendFormat: '{{cgroup}} {{instance}}' },
      ],
      unit: 'short',
      min: 0,
      w: 24,
      bars: true,
    }),
    row('Alerts and remediation'),
    timeseries({
      title: 'Alerts',
      description: 'headroom alerts pending or firing (Prometheus ALERTS). Only has data after an alert has become pending: empty on a quiet host.',
      queries: [{ expr: `sum by (alertname, severity, alertstate) (ALERTS{${I}, alertname=~"Headroom.*"})`, legendFormat: '{{alertname}} {{severity}} {{alertstate}}' }],
      unit: 'short',
      min: 0,
      w: 12,
      incidentOnly: true,
    }),
    timeseries({
      title: 'Remediation actions',
      description:
        'Actions the remediation receiver took (stop a process tree or cgroup, throttle, protect sshd), by result, and the alerts it refused to act on. Only has data after the receiver has handled a critical alert.',
      queries: [
        { expr: `sum by (action, result) (increase(headroom_remediation_actions_total{${I}}[$__rate_interval]))`, legendFormat: '{{action}} {{result}}' },
        { expr: `sum by (reason) (increase(headroom_remediation_refusals_total{${I}}[$__rate_interval]))`, legendFormat: 'refused: {{reason}}' },
      ],
      unit: 'short',
      min: 0,
      w: 12,
      bars: true,
      incidentOnly: true,
    }),
    timeseries({
      title: 'Notifications',
      description: 'Notification deliveries that failed (per notifier) and the queue of notifications waiting to be sent. Only has data once the receiver has sent or queued a notification.',
      queries: [
        { expr: `sum by (notifier) (increase(headroom_notifications_failed_total{${I}}[$__rate_interval]))`, legendFormat: 'failed {{notifier}}' },
        { expr: `headroom_notification_queue_depth{${I}}`, legendFormat: 'queued {{instance}}' },
      ],
      unit: 'short',
      min: 0,
      w: 12,
      incidentOnly: true,
    }),
    timeseries({
      title: 'Agent health',
      description: 'Whether Prometheus reaches the agent (up) and whether each collector succeeded in its last scrape (1 = yes).',
      queries: [
        { expr: `up{job="headroom", ${I}}`, legendFormat: 'up {{instance}}' },
        { expr: `headroom_scrape_collector_success{${I}}`, legendFormat: '{{collector}} {{instance}}' },
      ],
      unit: 'short',
      min: 0,
      max: 1,
      w: 12,
    }),
  ]);
}

export function hostDashboardSpec(): DashboardSpec {
  return {
    uid: 'headroom-host',
    title: 'headroom / host memory',
    description: 'Host memory, pressure, the largest processes, cgroups, OOM kills, alerts and remediation, from the headroom agent.',
    tags: ['headroom', 'memory'],
    instanceMetric: 'headroom_memory_total_bytes',
    panels: hostPanels(),
    annotations: [
      {
        name: 'headroom alerts firing',
        expr: `ALERTS{${I}, alertname=~"Headroom.*", alertstate="firing"}`,
        titleFormat: '{{alertname}} ({{severity}})',
        textFormat: '{{instance}} {{pid}} {{comm}} {{cgroup}}',
        iconColor: 'red',
        tagKeys: 'alertname,severity',
      },
      {
        name: 'remediation actions',
        expr: `changes(headroom_remediation_actions_total{${I}}[1m]) > 0`,
        titleFormat: '{{action}}: {{result}}',
        textFormat: 'source {{source}}',
        iconColor: 'orange',
        tagKeys: 'action,result',
      },
    ],
  };
}

/** Every dashboard, by file name under grafana/dashboards/. */
export function dashboards(): ReadonlyArray<{ readonly file: string; readonly spec: DashboardSpec; readonly json: Record<string, unknown> }> {
  const spec = hostDashboardSpec();
  return [{ file: 'headroom-host.json', spec, json: dashboard(spec) }];
}

/** The file's contents: stable key order as built, two-space indent, trailing newline. */
export function renderDashboard(json: Record<string, unknown>): string {
  return `${JSON.stringify(json, null, 2)}\n`;
}
