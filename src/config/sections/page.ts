import { z } from 'zod';
import { count, duration, section } from '../schema-helpers.js';

/**
 * The agent's status page at / (and incident reports at /incidents/<id>), fed by a short in-memory history.
 * On a listener that is not loopback the page needs the receiver's credentials (receiver.auth).
 */
export const pageSection = section({
  /** Serve the status page at / (off: the plain landing page). */
  enabled: z.boolean().default(true),
  /** Show "[comm]" instead of command lines (they can hold secrets passed as arguments). */
  hide_cmdlines: z.boolean().default(false),
  /** Seconds between refreshes of the page in the browser (meta refresh; works without JavaScript). */
  refresh: duration().prefault('10s'),
  /**
   * The short history (src/history/): the page's charts, incident reports' Growth sections and warnings'
   * growth lines. Sampled when the page is on or remediation runs. Bounded whatever the process count: at most
   * ShortHistory.boundBytes() of heap — 2.02 MiB with these defaults (measured by npm run bench at 6 000
   * processes, docs/benchmarks.md).
   */
  history: section({
    /** How far back the charts reach; the history is kept in memory only. */
    window: duration().prefault('15m'),
    /** Host memory, swap and PSI are sampled this often (two small reads). */
    host_interval: duration().prefault('1s'),
    /** The process trees and job cgroups are sampled this often (one read per process). */
    tree_interval: duration().prefault('15s'),
    /** Trees and job cgroups kept per sample. */
    top_k: count(1).default(10),
  })
    .prefault({})
    .refine((h) => h.host_interval <= h.window && h.tree_interval <= h.window, { error: 'host_interval and tree_interval must not exceed window', path: ['window'] })
    .refine((h) => h.host_interval >= 100 && h.tree_interval >= 1000, { error: 'host_interval must be at least 100ms and tree_interval at least 1s', path: ['host_interval'] }),
});

export type PageConfig = z.infer<typeof pageSection>;
