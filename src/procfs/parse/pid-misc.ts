import { MalformedError } from './keyed.js';

/** One line of /proc/PID/cgroup: "hierarchy-ID:controller-list:cgroup-path". */
export interface PidCgroupLine {
  readonly hierarchyId: number;
  readonly controllers: readonly string[];
  readonly path: string;
}

export function parsePidCgroup(text: string): PidCgroupLine[] {
  const out: PidCgroupLine[] = [];
  for (const line of text.split('\n')) {
    if (line.length === 0) continue;
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first <= 0 || second < 0) throw new MalformedError('cgroup', `unexpected line "${line.slice(0, 60)}"`);
    const controllers = line.slice(first + 1, second);
    out.push({
      hierarchyId: Number(line.slice(0, first)),
      controllers: controllers.length === 0 ? [] : controllers.split(','),
      path: line.slice(second + 1),
    });
  }
  return out;
}

/**
 * The cgroup that accounts a process's memory: the v1 memory controller's path when there is one,
 * else the unified (v2) path.
 */
export function memoryCgroupPath(lines: readonly PidCgroupLine[]): string | undefined {
  const v1 = lines.find((l) => l.controllers.includes('memory'));
  if (v1) return v1.path;
  return lines.find((l) => l.hierarchyId === 0)?.path;
}

/** /proc/PID/cmdline: NUL-separated arguments (empty for kernel threads and zombies). */
export function parseCmdline(text: string): string[] {
  const parts = text.split('\0');
  if (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts;
}

/** /proc/PID/statm: sizes in pages. */
export interface PidStatm {
  readonly sizePages: number;
  readonly residentPages: number;
  readonly sharedPages: number;
}

export function parsePidStatm(text: string): PidStatm {
  const f = text.trim().split(/\s+/).map(Number);
  if (f.length < 3 || f.slice(0, 3).some((v) => !Number.isFinite(v))) throw new MalformedError('statm', 'expected 7 numbers');
  return { sizePages: f[0] as number, residentPages: f[1] as number, sharedPages: f[2] as number };
}

/** /proc/PID/smaps_rollup: the Pss line in bytes (absent if the kernel did not print it). */
export function parseSmapsRollupPss(text: string): number | undefined {
  const m = /^Pss:\s+(\d+) kB$/m.exec(text);
  return m ? Number(m[1]) * 1024 : undefined;
}

/** /etc/passwd: uid → user name. Malformed lines are skipped (NSS may add entries we cannot see anyway). */
export function parsePasswd(text: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length < 3 || f[0] === undefined || f[0].length === 0) continue;
    const uid = Number(f[2]);
    if (Number.isInteger(uid) && !out.has(uid)) out.set(uid, f[0]);
  }
  return out;
}
