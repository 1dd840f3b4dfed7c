import { parseFlatKeyed } from '../procfs/parse/keyed.js';
import type { CgroupMemoryEvidence } from './types.js';

/**
 * Pure parsers for the evidence files of /proc/PID (text in, values out). /proc/PID/status fields are read by
 * name: an absent field stays absent.
 */

export interface StatusEvidence {
  readonly threads?: number;
  readonly uid?: number;
  readonly rssBytes?: number;
  readonly anonBytes?: number;
  readonly fileBytes?: number;
  readonly shmemBytes?: number;
  readonly swapBytes?: number;
}

export function parseStatusEvidence(text: string): StatusEvidence {
  const kb = new Map<string, number>();
  let uid: number | undefined;
  let threads: number | undefined;
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const key = line.slice(0, colon);
    const rest = line.slice(colon + 1).trim();
    if (key === 'Uid') uid = Number(rest.split(/\s+/)[0]);
    else if (key === 'Threads') threads = Number(rest);
    else if (rest.endsWith(' kB')) kb.set(key, Number(rest.slice(0, -3)) * 1024);
  }
  const n = (v: number | undefined): number | undefined => (v === undefined || !Number.isFinite(v) ? undefined : v);
  return {
    threads: n(threads),
    uid: n(uid),
    rssBytes: n(kb.get('VmRSS')),
    anonBytes: n(kb.get('RssAnon')),
    fileBytes: n(kb.get('RssFile')),
    shmemBytes: n(kb.get('RssShmem')),
    swapBytes: n(kb.get('VmSwap')),
  };
}

/** /proc/PID/io ("rchar: 123"). */
export function parseIo(text: string): { readBytes?: number; writeBytes?: number; rchar?: number; wchar?: number } {
  const m = parseFlatKeyed(text.replace(/:/g, ''));
  return { readBytes: m.get('read_bytes'), writeBytes: m.get('write_bytes'), rchar: m.get('rchar'), wchar: m.get('wchar') };
}

/**
 * The allowlisted variables of /proc/PID/environ (NUL-separated NAME=value). Only names on the allowlist get
 * their value copied; for every other entry only a count is kept, so a secret's value is never held in the
 * result. Names on the allowlist that are not set map to null ("unset" is evidence too).
 */
export function filterEnviron(raw: Uint8Array | string, allowlist: readonly string[]): { env: Record<string, string | null>; others: number } {
  const allowed = new Set(allowlist);
  const env: Record<string, string | null> = {};
  for (const name of allowlist) env[name] = null;
  let others = 0;
  const text = typeof raw === 'string' ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8');
  for (const entry of text.split('\0')) {
    if (entry.length === 0) continue;
    const eq = entry.indexOf('=');
    const name = eq < 0 ? entry : entry.slice(0, eq);
    if (allowed.has(name)) env[name] = eq < 0 ? '' : entry.slice(eq + 1, eq + 1 + 256);
    else others += 1;
  }
  return { env, others };
}

/** Targets of /proc/PID/fd/* that are paths of files (not "socket:[…]", "pipe:[…]", "anon_inode:…"). */
export function isPathTarget(target: string): boolean {
  return target.startsWith('/');
}

/**
 * v2: memory.current, memory.max ("max" = none), memory.stat anon/file/shmem, memory.swap.current.
 * v1: memory.usage_in_bytes, memory.limit_in_bytes (a huge value = none), memory.stat total_rss/total_cache/
 * total_shmem/total_swap (hierarchical: the cgroup and its descendants, like v2's).
 */
export function parseCgroupMemoryEvidence(version: 'v1' | 'v2', texts: Readonly<Record<string, string | undefined>>): CgroupMemoryEvidence {
  const one = (name: string): number | undefined => {
    const t = texts[name]?.trim();
    if (t === undefined || t === '' || t === 'max') return undefined;
    const n = Number(t);
    return Number.isFinite(n) ? n : undefined;
  };
  const stat = texts['memory.stat'] === undefined ? new Map<string, number>() : parseFlatKeyed(texts['memory.stat']);
  const out: { -readonly [K in keyof CgroupMemoryEvidence]: CgroupMemoryEvidence[K] } = {};
  const set = (k: keyof CgroupMemoryEvidence, v: number | undefined): void => {
    if (v !== undefined) out[k] = v;
  };
  if (version === 'v2') {
    set('usageBytes', one('memory.current'));
    set('limitBytes', one('memory.max'));
    set('anonBytes', stat.get('anon'));
    set('fileBytes', stat.get('file'));
    set('shmemBytes', stat.get('shmem'));
    set('swapBytes', one('memory.swap.current'));
  } else {
    set('usageBytes', one('memory.usage_in_bytes'));
    const limit = one('memory.limit_in_bytes');
    // v1 writes "no limit" as the largest page-aligned value (9223372036854771712 on 64-bit).
    set('limitBytes', limit !== undefined && limit < 2 ** 62 ? limit : undefined);
    set('anonBytes', stat.get('total_rss'));
    set('fileBytes', stat.get('total_cache'));
    set('shmemBytes', stat.get('total_shmem'));
    set('swapBytes', stat.get('total_swap'));
  }
  return out;
}

export const CGROUP_EVIDENCE_FILES = {
  v1: ['memory.usage_in_bytes', 'memory.limit_in_bytes', 'memory.stat'],
  v2: ['memory.current', 'memory.max', 'memory.stat', 'memory.swap.current'],
} as const;
