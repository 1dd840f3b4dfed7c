import { family, single, type Collector, type CollectorOutput, type MetricFamily, type ScrapeContext } from './collector.js';

/** /proc/meminfo field → metric name and help. Fields the kernel does not print produce no series. */
const MEMINFO_METRICS: ReadonlyArray<readonly [field: string, metric: string, help: string]> = [
  ['MemTotal', 'headroom_memory_total_bytes', 'Usable RAM (MemTotal).'],
  ['MemAvailable', 'headroom_memory_available_bytes', 'Memory available for new work without swapping (MemAvailable).'],
  ['MemFree', 'headroom_memory_free_bytes', 'Completely unused RAM (MemFree).'],
  ['Buffers', 'headroom_memory_buffers_bytes', 'Block device buffers (Buffers).'],
  ['Cached', 'headroom_memory_cached_bytes', 'Page cache, excluding swap cache (Cached).'],
  ['Shmem', 'headroom_memory_shmem_bytes', 'Shared memory and tmpfs (Shmem).'],
  ['AnonPages', 'headroom_memory_anon_bytes', 'Anonymous memory mapped into page tables (AnonPages).'],
  ['Committed_AS', 'headroom_memory_committed_bytes', 'Memory promised to processes (Committed_AS).'],
  ['CommitLimit', 'headroom_memory_commit_limit_bytes', 'Commit limit under strict overcommit (CommitLimit).'],
  ['Dirty', 'headroom_memory_dirty_bytes', 'Memory waiting to be written back to disk (Dirty).'],
  ['SReclaimable', 'headroom_memory_slab_reclaimable_bytes', 'Reclaimable kernel slab, e.g. dentry and inode caches (SReclaimable).'],
  ['Slab', 'headroom_memory_slab_bytes', 'Kernel slab allocator, reclaimable and not (Slab).'],
  ['SUnreclaim', 'headroom_memory_slab_unreclaimable_bytes', 'Kernel slab that cannot be reclaimed: no process owns it (SUnreclaim).'],
  ['PageTables', 'headroom_memory_page_tables_bytes', 'Memory of page tables, grows with mapped memory and process count (PageTables).'],
  ['SwapTotal', 'headroom_swap_total_bytes', 'Total swap space (SwapTotal).'],
  ['SwapFree', 'headroom_swap_free_bytes', 'Unused swap space (SwapFree).'],
  ['SwapCached', 'headroom_swap_cached_bytes', 'Swapped-out memory that is also in RAM (SwapCached).'],
];

/** Host memory from /proc/meminfo, and the OOM-kill, major-fault and swap-traffic counters of /proc/vmstat. */
export const hostMemoryCollector: Collector = {
  name: 'host_memory',
  collect(ctx: ScrapeContext): CollectorOutput {
    const meminfo = ctx.meminfo();
    const families: MetricFamily[] = MEMINFO_METRICS.map(([field, name, help]) => single(name, 'gauge', help, meminfo.get(field)));
    const vmstat = ctx.proc.vmstat();
    const page = ctx.proc.units.pageSizeBytes;
    const pages = (key: string): number | undefined => {
      const v = vmstat.get(key);
      return v === undefined ? undefined : v * page;
    };
    families.push(
      single('headroom_oom_kills_total', 'counter', 'Processes killed by the kernel OOM killer since boot (vmstat oom_kill).', vmstat.get('oom_kill')),
      single('headroom_major_page_faults_total', 'counter', 'Major page faults since boot: reads from disk or swap (vmstat pgmajfault).', vmstat.get('pgmajfault')),
      family('headroom_swap_io_bytes_total', 'counter', 'Bytes swapped in and out since boot (vmstat pswpin/pswpout).', ['direction'], [
        { labels: { direction: 'in' }, value: pages('pswpin') },
        { labels: { direction: 'out' }, value: pages('pswpout') },
      ]),
    );
    return { kind: 'data', families: families.filter((f) => f.samples.length > 0) };
  },
};
