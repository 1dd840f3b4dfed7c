import { family, type Collector, type CollectorOutput, type ScrapeContext } from './collector.js';

/**
 * The configured alert thresholds as gauges, so Prometheus rules compare against them
 * (`headroom:memory_used:ratio >= on(instance) headroom_threshold_ratio{threshold="host_memory_critical"}`)
 * and a team changes a threshold in one config file, not in every rule.
 */
export const thresholdsCollector: Collector = {
  name: 'thresholds',
  collect(ctx: ScrapeContext): CollectorOutput {
    const { long_running_seconds, ...ratios } = ctx.config.thresholds;
    return {
      kind: 'data',
      families: [
        family(
          'headroom_threshold_ratio',
          'gauge',
          'Configured alert threshold, as a ratio (0-1).',
          ['threshold'],
          Object.entries(ratios).map(([threshold, value]) => ({ labels: { threshold }, value })),
        ),
        family('headroom_threshold_seconds', 'gauge', 'Configured alert threshold, in seconds.', ['threshold'], [
          { labels: { threshold: 'long_running' }, value: long_running_seconds },
        ]),
      ],
    };
  },
};
