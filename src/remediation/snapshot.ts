import type { MemorySummary } from '../domain/summaries.js';
import type { Snapshot, CgroupFacts, ProcessDetailsLite } from '../policy/types.js';
import type { CgroupFs, MemoryHierarchy } from '../procfs/cgroupfs.js';
import type { FileReader } from '../procfs/file-reader.js';
import { readKubePodIndex, type KubePodIndex } from '../procfs/kube-pods.js';
import { readProcessDetails } from '../procfs/process-details.js';
import { scanProcesses, scanProcessesYielding, type ProcessTable } from '../procfs/process-table.js';
import type { ProcFs } from '../procfs/procfs.js';
import type { MemoryElsewhere } from '../unowned/analysis.js';

export interface SnapshotRequest {
  /** Watch this cgroup as the "machine" (its usage vs its limit) instead of the host. */
  readonly scope?: string;
  /** Also read this cgroup (usage, limit, tasks): the target of a cgroup alert. */
  readonly cgroup?: string;
  /**
   * Read only the processes of this cgroup and its descendants, not all of /proc (the guard watching a
   * cgroup: its victims live there). Process trees then end at the cgroup's border.
   */
  readonly processesWithin?: string;
}

/** Reads a fresh Snapshot for decide(). The only I/O on the decision path. */
export interface SnapshotReader {
  read(req?: SnapshotRequest): Snapshot | Promise<Snapshot>;
  /**
   * Just these PIDs as they are now (one /proc/PID read each, not a scan of all of /proc): lets a refusal
   * "that process is gone" on a shared snapshot be confirmed without re-reading every process. Optional:
   * a reader without it gets a full fresh read instead.
   */
  readProcesses?(pids: readonly number[]): ProcessTable;
}

/** Host memory from /proc/meminfo. */
export function hostMemory(meminfo: ReadonlyMap<string, number>): MemorySummary {
  const total = meminfo.get('MemTotal') ?? 0;
  const available = meminfo.get('MemAvailable') ?? meminfo.get('MemFree') ?? 0;
  const swapTotal = meminfo.get('SwapTotal');
  const swapFree = meminfo.get('SwapFree');
  return {
    totalBytes: total,
    availableBytes: available,
    usedRatio: total > 0 ? 1 - available / total : 0,
    swapTotalBytes: swapTotal,
    swapUsedBytes: swapTotal !== undefined && swapFree !== undefined ? swapTotal - swapFree : undefined,
    scope: 'host',
  };
}

/** A watched cgroup as a machine: limit (or MemTotal when unlimited) as total, the rest as available. */
export function cgroupMemory(path: string, usage: number, limit: number | undefined, memTotal: number): MemorySummary {
  const total = limit ?? memTotal;
  return {
    totalBytes: total,
    availableBytes: Math.max(0, total - usage),
    usedRatio: total > 0 ? Math.min(1, usage / total) : 0,
    scope: `cgroup ${path}`,
  };
}

/** Shmem + SUnreclaim: nothing no process owns can exceed it; undefined when the kernel prints neither. */
function upperBound(meminfo: ReadonlyMap<string, number>): number | undefined {
  const shmem = meminfo.get('Shmem');
  const slab = meminfo.get('SUnreclaim');
  return shmem === undefined && slab === undefined ? undefined : (shmem ?? 0) + (slab ?? 0);
}

/** The real reader: /proc and the cgroup file system (roots passed in). */
export class LiveSnapshotReader implements SnapshotReader {
  private hierarchy: MemoryHierarchy | null | undefined;

  constructor(
    private readonly proc: ProcFs,
    private readonly cgroups: CgroupFs,
    /** The kubelet's pod directories are read through it (kube). */
    private readonly files: FileReader,
    private readonly self: { pid: number; ppid: number },
    private readonly now: () => Date,
    /** kube: the kubelet's pod log root (config kubernetes.pod_logs_dir); absent: pods keep their UIDs. */
    private readonly podLogsDir?: string,
    /** Where memory no process owns is (./setup.ts binds readMemoryElsewhere); called lazily per snapshot. */
    private readonly readElsewhere?: (meminfo: ReadonlyMap<string, number>) => MemoryElsewhere | undefined,
  ) {}

  memoryHierarchy(): MemoryHierarchy | undefined {
    if (this.hierarchy === undefined) this.hierarchy = this.cgroups.detectMemoryHierarchy() ?? null;
    return this.hierarchy ?? undefined;
  }

  /** A snapshot read in one go (tests, benchmarks). */
  read(req: SnapshotRequest = {}): Snapshot {
    const boot = this.proc.stat().bootTimeSeconds;
    return this.assemble(req, scanProcesses(this.proc, boot, () => undefined, this.pidsFor(req)));
  }

  /** A snapshot whose /proc scan hands the event loop back every few milliseconds (the agent). */
  async readYielding(req: SnapshotRequest, yieldToLoop: () => Promise<void>): Promise<Snapshot> {
    const boot = this.proc.stat().bootTimeSeconds;
    return this.assemble(req, await scanProcessesYielding(this.proc, boot, () => undefined, yieldToLoop, this.pidsFor(req)));
  }

  /** The named PIDs only, as they are now (those that exist). */
  readProcesses(pids: readonly number[]): ProcessTable {
    return scanProcesses(this.proc, this.proc.stat().bootTimeSeconds, () => undefined, pids);
  }

  private pidsFor(req: SnapshotRequest): number[] | undefined {
    if (req.processesWithin === undefined) return undefined;
    const h = this.memoryHierarchy();
    return h === undefined ? undefined : this.cgroups.pidsWithin(h, req.processesWithin);
  }

  private assemble(req: SnapshotRequest, processes: ProcessTable): Snapshot {
    const at = this.now();
    const meminfo = this.proc.meminfo();
    const host = hostMemory(meminfo);
    const memo = new Map<number, ProcessDetailsLite | null>();
    const details = {
      get: (pid: number): ProcessDetailsLite | undefined => {
        const known = memo.get(pid);
        if (known !== undefined) return known ?? undefined;
        let d: ProcessDetailsLite | null;
        try {
          const r = readProcessDetails(this.proc, pid);
          d = { cmdline: r.cmdline, oomScoreAdj: r.oomScoreAdj, cgroup: r.cgroup, uid: r.status.uid, swapBytes: r.status.vmSwapBytes };
        } catch {
          // Exited since the scan, or unreadable: either way unverifiable. decide() treats a process without
          // details as protected and says so in the refusal, so the failure is reported, not lost.
          d = null;
        }
        memo.set(pid, d);
        return d ?? undefined;
      },
    };
    let memory = host;
    if (req.scope !== undefined) {
      const facts = this.cgroupFacts(req.scope);
      memory = cgroupMemory(req.scope, facts.usageBytes ?? 0, facts.limitBytes, host.totalBytes);
    }
    const cgroup = req.cgroup === undefined ? undefined : this.cgroupFacts(req.cgroup);
    const dir = this.podLogsDir;
    let pods: KubePodIndex | undefined;
    const kubePods = dir === undefined ? undefined : (): KubePodIndex => (pods ??= readKubePodIndex(this.files, dir)); // kube
    const readElsewhere = this.readElsewhere;
    let elsewhere: { value: MemoryElsewhere | undefined } | undefined;
    const lazyElsewhere =
      readElsewhere === undefined
        ? undefined
        : (): MemoryElsewhere | undefined => {
            elsewhere ??= { value: readElsewhere(meminfo) };
            return elsewhere.value;
          };
    return {
      at,
      memory,
      hostMemTotalBytes: host.totalBytes,
      processes,
      details,
      cgroup,
      self: this.self,
      ...(kubePods ? { kubePods } : {}),
      elsewhere: lazyElsewhere,
      elsewhereUpperBoundBytes: upperBound(meminfo),
    };
  }

  cgroupFacts(path: string): CgroupFacts {
    const h = this.memoryHierarchy();
    if (h === undefined) return { path, exists: false, pids: [] };
    const mem = this.cgroups.memory(h, path);
    if (mem === undefined) return { path, exists: false, version: h.version, pids: [] };
    // The working set (usage − inactive file cache), as the alert rules and the guard measure it: page cache the
    // kernel can reclaim is not memory a job must be stopped for.
    return { path, exists: true, version: h.version, usageBytes: mem.workingSetBytes ?? mem.usageBytes, limitBytes: mem.limitBytes, pids: this.cgroups.pidsWithin(h, path) };
  }
}

/** The live reader as the agent uses it: every scan yields to the event loop (docs/guard.md). */
export function yieldingReader(live: LiveSnapshotReader, yieldToLoop: () => Promise<void>): SnapshotReader {
  return { read: (req = {}) => live.readYielding(req, yieldToLoop), readProcesses: (pids) => live.readProcesses(pids) };
}

function cacheKey(req: SnapshotRequest): string {
  return `${req.scope ?? ''}\u0000${req.cgroup ?? ''}\u0000${req.processesWithin ?? ''}`;
}

/**
 * Snapshots shared by triggers that arrive close together: a cached read is reused for first decisions and
 * warnings while it is younger than `maxAgeMs` (by the given monotonic clock, seconds). The pipeline always
 * takes a fresh read right before acting and clears the cache after every action.
 */
export class SnapshotCache {
  private readonly cached = new Map<string, { snap: Snapshot; readAt: number }>();
  /** Requests whose last get() was served from the cache (not read by that call). */
  private readonly lastWasHit = new Set<string>();

  constructor(
    private readonly reader: SnapshotReader,
    private readonly maxAgeMs = Number.POSITIVE_INFINITY,
    private readonly monotonic: () => number = () => 0,
  ) {}

  async get(req: SnapshotRequest = {}): Promise<Snapshot> {
    const key = cacheKey(req);
    const hit = this.cached.get(key);
    const now = this.monotonic();
    if (hit !== undefined && (now - hit.readAt) * 1000 <= this.maxAgeMs) {
      this.lastWasHit.add(key);
      return hit.snap;
    }
    this.lastWasHit.delete(key);
    const snap = await this.reader.read(req);
    this.cached.set(key, { snap, readAt: now });
    return snap;
  }

  /** Whether the last get() for this request reused an earlier read (which may predate a new process). */
  servedFromCache(req: SnapshotRequest = {}): boolean {
    return this.lastWasHit.has(cacheKey(req));
  }

  /** The named PIDs as they are now, when the reader can read them alone (else undefined: read everything). */
  processesNow(pids: readonly number[]): ProcessTable | undefined {
    return this.reader.readProcesses?.(pids);
  }

  /** A fresh read (also replaces the cached one). */
  fresh(req: SnapshotRequest = {}): Promise<Snapshot> {
    this.clear();
    return this.get(req);
  }

  clear(): void {
    this.cached.clear();
    this.lastWasHit.clear();
  }
}
