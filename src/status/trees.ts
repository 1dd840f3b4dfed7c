import type { ProcessEntry, ProcessTable } from '../procfs/process-table.js';

/** One process tree: its root and the resident memory of the root plus all its descendants. */
export interface ProcessTree {
  readonly root: ProcessEntry;
  readonly residentBytes: number;
  readonly processes: number;
}

/**
 * Whether a process heads "a job" rather than a login, a shell or a daemon's session (the same rule as the
 * exporter's tree metrics): not PID 1, and not a session leader whose parent is PID 1 or itself a session
 * leader (sshd → sshd → bash, tmux → shell). A session leader started by an ordinary process (setsid, nohup,
 * `headroom run`) is a job.
 */
function isJob(e: ProcessEntry, table: ProcessTable): boolean {
  if (e.pid === 1 || e.isKernelThread) return false;
  if (e.pid !== e.session) return true;
  const parent = table.byPid.get(e.ppid);
  return parent !== undefined && parent.pid !== 1 && parent.pid !== parent.session && !parent.isKernelThread;
}

/**
 * The `k` largest outermost job trees (a job whose parent is not a job), largest first, equal sizes by PID;
 * a process outside any job (a daemon, sshd, a login shell) counts alone, without its children's jobs.
 * Pure and O(n): one pass sums each process into its outermost job ancestor (memoised), then a top-k insert.
 */
export function topProcessTrees(table: ProcessTable, k: number): ProcessTree[] {
  // rootOf: pid → pid of its outermost job ancestor (itself when it is one), or 0 for none.
  const rootOf = new Map<number, number>();
  const resolve = (start: ProcessEntry): number => {
    const chain: ProcessEntry[] = [];
    let e: ProcessEntry | undefined = start;
    let above = 0;
    for (let guard = 0; e !== undefined && guard < 4096; guard++) {
      const known = rootOf.get(e.pid);
      if (known !== undefined) {
        above = known;
        break;
      }
      chain.push(e);
      if (e.ppid === e.pid) break;
      e = table.byPid.get(e.ppid);
    }
    // From the top down: the first job met is the outermost one for everything below it.
    let current = above;
    for (let i = chain.length - 1; i >= 0; i--) {
      const c = chain[i] as ProcessEntry;
      if (current === 0 && isJob(c, table)) current = c.pid;
      rootOf.set(c.pid, current);
    }
    return current;
  };
  const sums = new Map<number, { bytes: number; count: number }>();
  for (const e of table.entries) {
    if (e.isKernelThread) continue;
    // Outside any job (a daemon, a shell, sshd) a process stands for itself alone.
    const root = resolve(e) || e.pid;
    const s = sums.get(root);
    if (s) {
      s.bytes += e.residentBytes;
      s.count += 1;
    } else sums.set(root, { bytes: e.residentBytes, count: 1 });
  }
  const top: ProcessTree[] = [];
  for (const [pid, s] of sums) {
    const root = table.byPid.get(pid);
    if (root === undefined) continue;
    const t: ProcessTree = { root, residentBytes: s.bytes, processes: s.count };
    let i = top.length;
    while (i > 0 && larger(t, top[i - 1] as ProcessTree)) i--;
    if (i >= k) continue;
    top.splice(i, 0, t);
    if (top.length > k) top.pop();
  }
  return top;
}

function larger(a: ProcessTree, b: ProcessTree): boolean {
  return a.residentBytes > b.residentBytes || (a.residentBytes === b.residentBytes && a.root.pid < b.root.pid);
}
