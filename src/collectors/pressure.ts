import type { PressureResource } from '../procfs/procfs.js';
import { family, type Collector, type CollectorOutput, type ScrapeContext } from './collector.js';

const RESOURCES: readonly PressureResource[] = ['memory', 'cpu', 'io'];

/** Pressure stall information (/proc/pressure/*) as counters of stalled seconds. */
export const pressureCollector: Collector = {
  name: 'pressure',
  collect(ctx: ScrapeContext): CollectorOutput {
    const some: Array<{ labels: Record<string, string>; value: number | undefined }> = [];
    const full: Array<{ labels: Record<string, string>; value: number | undefined }> = [];
    for (const resource of RESOURCES) {
      const p = ctx.proc.pressure(resource);
      if (p === undefined) continue;
      some.push({ labels: { resource }, value: p.some?.totalSeconds });
      full.push({ labels: { resource }, value: p.full?.totalSeconds });
    }
    if (some.length === 0) {
      return { kind: 'no_data', reason: `${ctx.proc.path('pressure')} is missing: the kernel has no PSI (CONFIG_PSI, or boot with psi=1)` };
    }
    return {
      kind: 'data',
      families: [
        family('headroom_pressure_waiting_seconds_total', 'counter', 'Time some runnable tasks were stalled on the resource (PSI "some").', ['resource'], some),
        family('headroom_pressure_stalled_seconds_total', 'counter', 'Time all non-idle tasks were stalled on the resource at once (PSI "full").', ['resource'], full),
      ],
    };
  },
};
