import type { KubePodIndex } from '../procfs/kube-pods.js';
import type { HeadroomConfig } from '../config/schema.js';
import type { CollectorName } from '../config/sections/agent.js';
import type { CgroupFs } from '../procfs/cgroupfs.js';
import type { FileReader, ReadFailure } from '../procfs/file-reader.js';
import type { Meminfo } from '../procfs/parse/meminfo.js';
import type { ProcFs } from '../procfs/procfs.js';
import type { ProcessTable } from '../procfs/process-table.js';

/** One sample of a metric family. */
export interface Sample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** A metric family produced by one scrape (a "const metric" in node_exporter's terms). */
export interface MetricFamily {
  readonly name: string;
  readonly help: string;
  readonly type: 'gauge' | 'counter';
  readonly labelNames: readonly string[];
  readonly samples: readonly Sample[];
}

/** What a collector returns: its metric families, or "no data" when its source does not exist here. */
export type CollectorOutput =
  | { readonly kind: 'data'; readonly families: readonly MetricFamily[] }
  | { readonly kind: 'no_data'; readonly reason: string };

/**
 * Everything a collector may read during one scrape. Shared inputs (the process table, meminfo, the boot
 * time) are read once per scrape and memoized, so several collectors cost one pass over /proc.
 */
export interface ScrapeContext {
  readonly config: HeadroomConfig;
  readonly proc: ProcFs;
  readonly cgroups: CgroupFs;
  /** Raw reads for files outside ProcFs' typed methods (mountinfo, sysvipc). */
  readonly files: FileReader;
  meminfo(): Meminfo;
  bootTimeSeconds(): number;
  processes(): ProcessTable;
  userName(uid: number): string;
  /** Pod and container names of this Kubernetes node (empty elsewhere); listed at most once per scrape. */
  kubePods(): KubePodIndex;
  /** Records a read that was skipped (process gone, permission, malformed file) for the running collector. */
  skip(reason: ReadFailure): void;
}

/** One source of metrics. Collectors are listed in ./index.ts and run by ./runner.ts. */
export interface Collector {
  readonly name: CollectorName;
  /** Uses ctx.processes(): the agent then scans /proc before the scrape, handing the event loop back as it goes. */
  readonly readsProcesses?: boolean;
  collect(ctx: ScrapeContext): CollectorOutput;
}

/** Builds a family, leaving out samples whose value is absent (an absent kernel field stays absent). */
export function family(
  name: string,
  type: 'gauge' | 'counter',
  help: string,
  labelNames: readonly string[],
  samples: ReadonlyArray<{ labels: Readonly<Record<string, string>>; value: number | undefined }>,
): MetricFamily {
  const present: Sample[] = [];
  for (const s of samples) if (s.value !== undefined && !Number.isNaN(s.value)) present.push({ labels: s.labels, value: s.value });
  return { name, type, help, labelNames, samples: present };
}

/** A family with one unlabelled sample (or none when the value is absent). */
export function single(name: string, type: 'gauge' | 'counter', help: string, value: number | undefined): MetricFamily {
  return family(name, type, help, [], [{ labels: {}, value }]);
}
