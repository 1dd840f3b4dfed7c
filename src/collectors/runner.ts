import type { HeadroomConfig } from '../config/schema.js';
import { errorMessage } from '../logging/logger.js';
import type { CgroupFs } from '../procfs/cgroupfs.js';
import type { FileReader, ReadFailure } from '../procfs/file-reader.js';
import type { Meminfo } from '../procfs/parse/meminfo.js';
import { readKubePodIndex, type KubePodIndex } from '../procfs/kube-pods.js';
import { parsePasswd } from '../procfs/parse/pid-misc.js';
import type { ProcFs } from '../procfs/procfs.js';
import { scanProcesses, scanProcessesYielding, type ProcessTable } from '../procfs/process-table.js';
import { family, type Collector, type MetricFamily, type ScrapeContext } from './collector.js';

/** A monotonic clock in seconds (performance.now()/1000 in production, a fake in the golden test). */
export type MonotonicClock = () => number;

export interface ScrapeSources {
  readonly config: HeadroomConfig;
  readonly proc: ProcFs;
  readonly cgroups: CgroupFs;
  /** Reads /etc/passwd (or the configured file) for uid → name. */
  readonly files: FileReader;
}

export interface CollectorReport {
  readonly name: string;
  readonly durationSeconds: number;
  readonly success: boolean;
  readonly noDataReason?: string;
  readonly error?: string;
}

export interface ScrapeResult {
  readonly families: readonly MetricFamily[];
  readonly reports: readonly CollectorReport[];
}

function memo<T>(read: () => T): () => T {
  let done = false;
  let value: T | undefined;
  return () => {
    if (!done) {
      value = read();
      done = true;
    }
    return value as T;
  };
}

/**
 * Runs every collector once per scrape, times each one, and exports the runner's own metrics:
 * headroom_scrape_collector_duration_seconds, headroom_scrape_collector_success and the cumulative
 * headroom_scrape_errors_total{collector,reason} (reads skipped because a process exited, a permission was
 * missing or a file was malformed — none of which fail a scrape).
 */
export class CollectorRunner {
  private readonly skipped = new Map<string, number>();
  private userNames = new Map<number, string>();

  constructor(
    private readonly collectors: readonly Collector[],
    private readonly sources: ScrapeSources,
    private readonly clock: MonotonicClock,
    private readonly onCollectorError: (collector: string, error: unknown) => void,
  ) {
    for (const c of collectors) for (const reason of ['vanished', 'permission', 'malformed', 'io'] as const) this.skipped.set(`${c.name}\u0000${reason}`, 0);
  }

  private userName(uid: number): string {
    let name = this.userNames.get(uid);
    if (name === undefined) {
      // Reload once for an unknown uid (users are added while the agent runs); fall back to the number.
      const text = this.sources.files.readOptional(this.sources.config.agent.passwd);
      this.userNames = text === undefined ? new Map<number, string>() : parsePasswd(text);
      name = this.userNames.get(uid) ?? String(uid);
      this.userNames.set(uid, name);
    }
    return name;
  }

  /** One scrape, synchronously (the golden test, the benchmarks). */
  scrape(): ScrapeResult {
    return this.run(undefined);
  }

  /**
   * One scrape whose /proc scan hands the event loop back every few milliseconds (the agent's /metrics): the
   * guard and the receiver never wait behind a scrape (docs/guard.md). The rest of the scrape (a few small
   * reads, the top processes' details) stays synchronous.
   */
  async scrapeYielding(yieldToLoop: () => Promise<void>): Promise<ScrapeResult> {
    const disabled = new Set<string>(this.sources.config.collectors.disabled);
    if (!this.collectors.some((c) => !disabled.has(c.name) && c.readsProcesses === true)) return this.run(undefined);
    const pending: ReadFailure[] = [];
    const start = this.clock();
    const boot = this.sources.proc.stat().bootTimeSeconds;
    const table = await scanProcessesYielding(this.sources.proc, boot, (r) => pending.push(r), yieldToLoop);
    return this.run({ table, seconds: this.clock() - start, skipped: pending, bootTimeSeconds: boot });
  }

  private run(prefetched: { table: ProcessTable; seconds: number; skipped: readonly ReadFailure[]; bootTimeSeconds: number } | undefined): ScrapeResult {
    const { config, proc, cgroups } = this.sources;
    let current = '';
    const skip = (reason: ReadFailure): void => {
      const key = `${current}\u0000${reason}`;
      this.skipped.set(key, (this.skipped.get(key) ?? 0) + 1);
    };
    const bootTimeSeconds = prefetched ? () => prefetched.bootTimeSeconds : memo(() => proc.stat().bootTimeSeconds);
    const meminfo = memo((): Meminfo => proc.meminfo());
    // A prefetched scan is charged, with its skips, to the first collector that asks for the table, as a
    // synchronous scan would be.
    let scanSeconds = 0;
    const processes = memo((): ProcessTable => {
      if (prefetched === undefined) return scanProcesses(proc, bootTimeSeconds(), skip);
      prefetched.skipped.forEach(skip);
      scanSeconds = prefetched.seconds;
      return prefetched.table;
    });
    const kubePods = memo((): KubePodIndex => readKubePodIndex(this.sources.files, config.kubernetes.pod_logs_dir));
    const ctx: ScrapeContext = {
      config,
      proc,
      cgroups,
      files: this.sources.files,
      meminfo,
      bootTimeSeconds,
      processes,
      userName: (uid) => this.userName(uid),
      kubePods,
      skip,
    };
    const disabled = new Set<string>(config.collectors.disabled);
    const families: MetricFamily[] = [];
    const reports: CollectorReport[] = [];
    for (const collector of this.collectors) {
      if (disabled.has(collector.name)) continue;
      current = collector.name;
      const start = this.clock();
      const charged = scanSeconds;
      try {
        const out = collector.collect(ctx);
        const durationSeconds = this.clock() - start + (scanSeconds - charged);
        if (out.kind === 'data') {
          families.push(...out.families);
          reports.push({ name: collector.name, durationSeconds, success: true });
        } else {
          reports.push({ name: collector.name, durationSeconds, success: true, noDataReason: out.reason });
        }
      } catch (error) {
        this.onCollectorError(collector.name, error);
        reports.push({
          name: collector.name,
          durationSeconds: this.clock() - start + (scanSeconds - charged),
          success: false,
          error: errorMessage(error),
        });
      }
    }
    families.push(...this.runnerFamilies(reports));
    return { families, reports };
  }

  private runnerFamilies(reports: readonly CollectorReport[]): MetricFamily[] {
    const errors: Array<{ labels: Record<string, string>; value: number }> = [];
    for (const [key, value] of this.skipped) {
      const [collector = '', reason = ''] = key.split('\u0000');
      errors.push({ labels: { collector, reason }, value });
    }
    return [
      family('headroom_scrape_collector_duration_seconds', 'gauge', 'How long each collector took in this scrape.', ['collector'], reports.map((r) => ({ labels: { collector: r.name }, value: r.durationSeconds }))),
      family('headroom_scrape_collector_success', 'gauge', 'Whether the collector succeeded (1), including "no data here" (see headroom_scrape_collector_no_data).', ['collector'], reports.map((r) => ({ labels: { collector: r.name }, value: r.success ? 1 : 0 }))),
      family('headroom_scrape_collector_no_data', 'gauge', 'Whether the collector found no source on this machine (no PSI, no cgroup memory controller).', ['collector'], reports.map((r) => ({ labels: { collector: r.name }, value: r.noDataReason === undefined ? 0 : 1 }))),
      family('headroom_scrape_errors_total', 'counter', 'Reads skipped during scrapes (process exited, permission, malformed file), by collector and reason.', ['collector', 'reason'], errors),
    ];
  }
}
