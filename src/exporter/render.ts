import { Counter, Gauge, Registry } from 'prom-client';
import type { MetricFamily } from '../collectors/collector.js';

/**
 * Turns one scrape's families into a prom-client registry. Metrics are created per scrape (node_exporter's
 * "const metrics"), so a process that exited yesterday does not linger on /metrics today.
 */
export function familiesToRegistry(families: readonly MetricFamily[]): Registry {
  const registry = new Registry();
  for (const f of families) {
    if (f.type === 'gauge') {
      const g = new Gauge({ name: f.name, help: f.help, labelNames: [...f.labelNames], registers: [registry] });
      for (const s of f.samples) g.set(s.labels, s.value);
    } else {
      const c = new Counter({ name: f.name, help: f.help, labelNames: [...f.labelNames], registers: [registry] });
      for (const s of f.samples) c.inc(s.labels, s.value);
    }
  }
  return registry;
}

/** The Prometheus text exposition of one scrape. */
export async function renderFamilies(families: readonly MetricFamily[], extra: readonly Registry[] = []): Promise<string> {
  const registry = familiesToRegistry(families);
  const merged = extra.length === 0 ? registry : Registry.merge([registry, ...extra]);
  return merged.metrics();
}
