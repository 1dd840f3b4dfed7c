import { classifyReadError, errorCode, type FileReader } from '../procfs/file-reader.js';
import { parseCmdline } from '../procfs/parse/pid-misc.js';
import { parseSmapsRollupPss } from '../procfs/parse/pid-misc.js';
import type { TreeFs } from '../procfs/tree-fs.js';
import { filterEnviron, isPathTarget, parseIo, parseStatusEvidence } from './parse.js';
import type { ChildEvidence, OpenFile, ProcessEvidence } from './types.js';

/** What reading one victim needs: the procfs root, raw reads, stat(2), uid → name, and a deadline. */
export interface EvidenceReadDeps {
  readonly procRoot: string;
  readonly files: FileReader;
  readonly fs: TreeFs;
  readonly userName: (uid: number) => string;
  /** True once the capture budget is spent: reading stops at the next step. */
  readonly expired: () => boolean;
}

export interface EvidenceReadOptions {
  readonly envAllowlist: readonly string[];
  /** smaps_rollup only for processes at most this resident (it walks page tables). */
  readonly pssMaxResidentBytes: number;
  readonly maxFds: number;
  readonly maxFiles: number;
  readonly maxChildren: number;
}

/**
 * Reads the evidence of one process and its children (the tree given, root first). Each step is skipped once
 * the budget is spent or when the file cannot be read; every skip is named in `notCaptured`.
 */
export function readProcessEvidence(
  d: EvidenceReadDeps,
  root: { readonly pid: number; readonly startTime: string; readonly comm: string },
  childPids: readonly number[],
  o: EvidenceReadOptions,
  notCaptured: string[],
): ProcessEvidence {
  const base = `${d.procRoot}/${root.pid}`;
  const step = <T>(what: string, read: () => T): T | undefined => {
    if (d.expired()) {
      notCaptured.push(`${what}: capture budget spent`);
      return undefined;
    }
    try {
      return read();
    } catch (error) {
      const why = classifyReadError(error);
      notCaptured.push(`${what}: ${why === 'vanished' ? 'process gone' : why === 'permission' ? 'permission denied' : errorCode(error) ?? (error instanceof Error ? error.message : String(error))}`);
      return undefined;
    }
  };
  const cmdline = step('command line', () => parseCmdline(d.files.readText(`${base}/cmdline`))) ?? [];
  const status = step('status', () => parseStatusEvidence(d.files.readText(`${base}/status`)));
  const cwd = step('cwd', () => d.files.readLink(`${base}/cwd`));
  const exe = step('exe', () => d.files.readLink(`${base}/exe`));
  const io = step('io', () => parseIo(d.files.readText(`${base}/io`)));
  let pss: number | undefined;
  if (status?.rssBytes !== undefined && status.rssBytes <= o.pssMaxResidentBytes) {
    pss = step('smaps_rollup', () => parseSmapsRollupPss(d.files.readText(`${base}/smaps_rollup`)));
  } else if (status?.rssBytes !== undefined) {
    notCaptured.push(`PSS: resident ${status.rssBytes} bytes is above the smaps_rollup size guard`);
  }
  const envResult = step('environment (allowlisted names)', () => filterEnviron(d.files.readBytes(`${base}/environ`), o.envAllowlist));
  const fds = step('open files', () => d.files.listDir(`${base}/fd`)) ?? [];
  const files: OpenFile[] = [];
  let scanned = 0;
  for (const name of fds) {
    if (scanned >= o.maxFds) {
      notCaptured.push(`open files: only the first ${o.maxFds} of ${fds.length} fds looked at`);
      break;
    }
    if (d.expired()) {
      notCaptured.push(`open files: capture budget spent after ${scanned} of ${fds.length} fds`);
      break;
    }
    scanned += 1;
    try {
      const target = d.files.readLink(`${base}/fd/${name}`);
      if (!isPathTarget(target)) continue;
      const st = d.fs.stat(`${base}/fd/${name}`);
      if (st.kind === 'file') files.push({ fd: Number(name), path: target, sizeBytes: st.sizeBytes });
    } catch (error) {
      // An fd closed between listing and reading: nothing to report for it.
      if (classifyReadError(error) !== 'vanished') notCaptured.push(`fd ${name}: ${errorCode(error) ?? 'unreadable'}`);
    }
  }
  files.sort((a, b) => b.sizeBytes - a.sizeBytes || a.fd - b.fd);
  const children: ChildEvidence[] = [];
  for (const pid of childPids.slice(0, o.maxChildren)) {
    const c = step(`child ${pid}`, () => {
      const st = parseStatusEvidence(d.files.readText(`${d.procRoot}/${pid}/status`));
      const cl = parseCmdline(d.files.readText(`${d.procRoot}/${pid}/cmdline`));
      const comm = d.files.readText(`${d.procRoot}/${pid}/comm`).trim();
      return { pid, comm, cmdline: cl.join(' ').slice(0, 200), residentBytes: st.rssBytes };
    });
    if (c !== undefined) children.push(c);
  }
  if (childPids.length > o.maxChildren) notCaptured.push(`children: only the first ${o.maxChildren} of ${childPids.length}`);
  return {
    pid: root.pid,
    startTime: root.startTime,
    comm: root.comm,
    cmdline,
    cwd,
    exe,
    uid: status?.uid,
    user: status?.uid === undefined ? undefined : d.userName(status.uid),
    threads: status?.threads,
    memory: { rssBytes: status?.rssBytes, anonBytes: status?.anonBytes, fileBytes: status?.fileBytes, shmemBytes: status?.shmemBytes, swapBytes: status?.swapBytes, pssBytes: pss },
    io,
    openFiles: files.slice(0, o.maxFiles),
    openFds: fds.length,
    env: envResult?.env ?? {},
    envOthers: envResult?.others,
    children,
  };
}
