import type { TreeFs } from '../procfs/tree-fs.js';
import { classifyReadError } from '../procfs/file-reader.js';
import { readTmpfsUsage } from '../unowned/read.js';
import { family, single, type Collector, type CollectorOutput, type ScrapeContext } from './collector.js';

/** At most this many mounts get series (largest use first): the label set stays bounded on any machine. */
export const TMPFS_MAX_SERIES = 20;

/**
 * Memory no process owns: tmpfs mounts (/dev/shm, /run, spill directories) hold RAM that appears in no
 * process's RSS. Mounts from /proc/self/mountinfo under the procfs root, usage from statfs(2) through the
 * injected TreeFs. Series per mount (bounded to the largest TMPFS_MAX_SERIES), plus the total over every mount.
 */
export function createTmpfsCollector(fs: TreeFs): Collector {
  return {
    name: 'tmpfs',
    collect(ctx: ScrapeContext): CollectorOutput {
      const mounts = readTmpfsUsage(ctx.proc, ctx.files, fs, (error) => ctx.skip(classifyReadError(error)));
      if (mounts.length === 0) return { kind: 'no_data', reason: `no tmpfs mount in ${ctx.proc.path('self', 'mountinfo')}` };
      let total = 0;
      for (const m of mounts) total += m.usage.usedBytes;
      const chosen = [...mounts]
        .sort((a, b) => b.usage.usedBytes - a.usage.usedBytes || a.mount.mountPoint.localeCompare(b.mount.mountPoint))
        .slice(0, TMPFS_MAX_SERIES)
        .sort((a, b) => a.mount.mountPoint.localeCompare(b.mount.mountPoint));
      const per = (value: (u: (typeof chosen)[number]) => number) => chosen.map((m) => ({ labels: { mount: m.mount.mountPoint }, value: value(m) }));
      return {
        kind: 'data',
        families: [
          family('headroom_tmpfs_used_bytes', 'gauge', 'RAM held by files in a tmpfs mount (statfs used blocks); in no process RSS.', ['mount'], per((m) => m.usage.usedBytes)),
          family('headroom_tmpfs_size_bytes', 'gauge', 'Size limit of a tmpfs mount (statfs blocks).', ['mount'], per((m) => m.usage.sizeBytes)),
          single('headroom_tmpfs_used_total_bytes', 'gauge', 'RAM held by files in every tmpfs mount together.', total),
          single('headroom_tmpfs_mounts', 'gauge', 'tmpfs mounts seen (series are exported for the largest 20).', mounts.length),
        ],
      };
    },
  };
}
