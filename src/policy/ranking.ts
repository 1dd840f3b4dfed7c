import { isHeadroomJob } from '../collectors/cgroups.js';
import type { ProcessEntry } from '../procfs/process-table.js';
import { matchesAny, protectedInTree } from './protections.js';
import type { PolicySettings, Snapshot } from './types.js';

/** Score weights: documented in docs/receiver.md. */
export const PREFER_WEIGHT = 4;
export const AVOID_WEIGHT = 0.25;
export const HEADROOM_JOB_WEIGHT = 2;
/** Descend from a tree to one child tree that holds at least this share of its memory. */
export const DESCEND_SHARE = 0.9;

/**
 * The cheap first pass ranks by resident memory only (one /proc/PID/stat read per process); a tree whose
 * resident memory is below this share of the minimum victim size cannot hold the minimum even with swap
 * (a process of the seed's jobs had ≥ 75 % of its memory resident under thrash), and is not read further.
 */
export const RESIDENT_PREFILTER_SHARE = 0.25;

/** What a process tree really holds: resident + swapped (VmSwap) memory of its live processes. */
export function heldBytes(tree: readonly ProcessEntry[], snap: Snapshot): { heldBytes: number; swapBytes: number } {
  let held = 0;
  let swap = 0;
  for (const p of tree) {
    const s = snap.details.get(p.pid)?.swapBytes ?? 0;
    held += p.residentBytes + s;
    swap += s;
  }
  return { heldBytes: held, swapBytes: swap };
}

export interface RankedCandidate {
  readonly entry: ProcessEntry;
  /** Resident + swapped bytes of the tree. */
  readonly treeBytes: number;
  readonly treeSwapBytes: number;
  readonly treeProcesses: number;
  readonly score: number;
}

export function inCgroup(cgroup: string | undefined, within: string): boolean {
  if (cgroup === undefined) return false;
  if (within === '/') return true;
  return cgroup === within || cgroup.startsWith(`${within}/`);
}

/**
 * Ranks the process trees that may be stopped for a host-level alert (pure). A candidate is a live,
 * non-zombie process whose whole tree is free of protected processes, whose tree holds at least the minimum
 * size, and (with `within`) whose memory cgroup is inside that cgroup. Score = what the tree holds (resident +
 * swapped, issue 14: a process pushed to swap still holds that memory), × 4 when a
 * process of the tree matches `prefer`, × ¼ when one matches `avoid`, × 2 for headroom's own jobs (cgroups
 * under headroom.slice). Best first.
 */
export function rankVictims(snap: Snapshot, settings: PolicySettings, within?: string): RankedCandidate[] {
  const minBytes = settings.minVictimBytes(snap.hostMemTotalBytes);
  // Tree sizes first, for every process in one pass: the minimum size then rules out almost every process
  // before any per-process detail (cmdline, cgroup) is read — the guard's time to safety depends on it.
  const treeSizes = liveTreeBytes(snap);
  const out: RankedCandidate[] = [];
  for (const e of snap.processes.entries) {
    if (e.isKernelThread || e.state === 'Z' || e.state === 'X') continue;
    if ((treeSizes.get(e.pid) ?? 0) < minBytes * RESIDENT_PREFILTER_SHARE) continue;
    const d = snap.details.get(e.pid);
    if (within !== undefined && !inCgroup(d?.cgroup, within)) continue;
    const tree = snap.processes.subtree(e.pid).filter((p) => p.state !== 'Z' && p.state !== 'X');
    const held = heldBytes(tree, snap);
    const treeBytes = held.heldBytes;
    if (treeBytes < minBytes) continue;
    if (protectedInTree(tree, snap, settings.protect) !== undefined) continue;
    // prefer/avoid apply to a tree when any of its processes matches, so a shell or tmux above an avoided job
    // is not chosen in its place (the victim then descends to the job anyway).
    const matches = (m: PolicySettings['prefer']): boolean =>
      tree.some((t) => matchesAny(m, t.comm, snap.details.get(t.pid)?.cmdline.join(' ') ?? '') !== undefined);
    let score = treeBytes;
    if (matches(settings.prefer)) score *= PREFER_WEIGHT;
    if (matches(settings.avoid)) score *= AVOID_WEIGHT;
    if (d?.cgroup !== undefined && isHeadroomJob(d.cgroup)) score *= HEADROOM_JOB_WEIGHT;
    out.push({ entry: e, treeBytes, treeSwapBytes: held.swapBytes, treeProcesses: tree.length, score });
  }
  return out.sort((a, b) => b.score - a.score || b.treeBytes - a.treeBytes || a.entry.pid - b.entry.pid);
}

/**
 * Resident bytes of every process's tree (itself and its descendants, zombies left out), in one pass over the
 * table: each live process adds its memory to itself and its ancestors.
 */
export function liveTreeBytes(snap: Snapshot): Map<number, number> {
  const sizes = new Map<number, number>();
  const byPid = snap.processes.byPid;
  for (const e of snap.processes.entries) {
    if (e.state === 'Z' || e.state === 'X' || e.residentBytes === 0) continue;
    let node: typeof e | undefined = e;
    // Bounded walk: a parent link that loops (a corrupt or racing table) cannot hang the guard.
    for (let depth = 0; node !== undefined && depth < 4096; depth++) {
      sizes.set(node.pid, (sizes.get(node.pid) ?? 0) + e.residentBytes);
      node = node.ppid === node.pid ? undefined : byPid.get(node.ppid);
    }
  }
  return sizes;
}

/**
 * The victim: the best-ranked candidate, then, while one of its children's trees (itself a candidate) holds
 * ≥ 90 % of its memory, that child — so a tmux server or a shell whose one job holds the memory is spared and
 * the job is stopped.
 */
export function chooseVictim(ranked: readonly RankedCandidate[], snap: Snapshot): RankedCandidate | undefined {
  let best = ranked[0];
  if (best === undefined) return undefined;
  const byPid = new Map(ranked.map((c) => [c.entry.pid, c]));
  for (let guard = 0; guard < 64; guard++) {
    const current: RankedCandidate = best;
    const child = snap.processes
      .childrenOf(current.entry.pid)
      .map((pid) => byPid.get(pid))
      .find((c): c is RankedCandidate => c !== undefined && c.treeBytes >= DESCEND_SHARE * current.treeBytes);
    if (child === undefined) break;
    best = child;
  }
  return best;
}
