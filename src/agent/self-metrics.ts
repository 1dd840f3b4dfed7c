import { collectDefaultMetrics, type Registry } from 'prom-client';

/**
 * The agent's own process and Node.js metrics (prom-client's default metrics, `prefix`ed), minus what breaks
 * the exposition format: prom-client exports gauges named `…_active_handles_total`,
 * `…_active_requests_total`, `…_active_resources_total`, and `promtool check metrics` (rightly) refuses a
 * `_total` suffix on anything but a counter. Those are dropped; the per-type gauges they sum
 * (`…_active_handles{type}` etc.) stay, so `sum(…_active_handles)` gives the same number.
 */
export function registerSelfMetrics(registry: Registry, prefix: string): void {
  collectDefaultMetrics({ register: registry, prefix });
  for (const metric of registry.getMetricsAsArray()) {
    if (metric.name.startsWith(prefix) && metric.name.endsWith('_total') && String(metric.type) !== 'counter') registry.removeSingleMetric(metric.name);
  }
}
