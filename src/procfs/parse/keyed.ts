/** Shared helpers for the many "key value" files under /proc and /sys/fs/cgroup. Pure: text in, values out. */

/** Thrown by parsers when a file does not have the shape the kernel documents. */
export class MalformedError extends Error {
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`${file}: ${detail}`);
    this.name = 'MalformedError';
  }
}

/**
 * Parses lines of "key value" (cgroup memory.stat, memory.events, vmstat, oom_control) into a map.
 * Lines that are not two fields with a numeric second field are ignored, as the kernel may add fields.
 */
export function parseFlatKeyed(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.length === 0) continue;
    const space = line.indexOf(' ');
    if (space <= 0) continue;
    const value = Number(line.slice(space + 1).trim());
    if (Number.isFinite(value)) out.set(line.slice(0, space), value);
  }
  return out;
}

/** Parses a file holding a single integer (e.g. memory.current); throws MalformedError otherwise. */
export function parseSingleNumber(file: string, text: string): number {
  const trimmed = text.trim();
  if (!/^-?\d+$/.test(trimmed)) throw new MalformedError(file, `expected a single integer, got "${trimmed.slice(0, 40)}"`);
  return Number(trimmed);
}
