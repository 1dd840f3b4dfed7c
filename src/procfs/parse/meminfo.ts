import { MalformedError } from './keyed.js';

/**
 * /proc/meminfo as bytes. Every field the kernel printed is kept (keyed by its kernel name); a field the kernel
 * did not print is absent from the map, never 0.
 */
export type Meminfo = ReadonlyMap<string, number>;

/** Parses /proc/meminfo ("MemTotal:       65806412 kB") into bytes per field. */
export function parseMeminfo(text: string): Meminfo {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.length === 0) continue;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new MalformedError('meminfo', `line without a colon: "${line.slice(0, 60)}"`);
    const rest = line.slice(colon + 1).trim().split(/\s+/);
    const value = Number(rest[0]);
    if (!Number.isFinite(value)) throw new MalformedError('meminfo', `non-numeric value in "${line.slice(0, 60)}"`);
    const unit = rest[1];
    out.set(line.slice(0, colon), unit === 'kB' ? value * 1024 : value);
  }
  if (!out.has('MemTotal')) throw new MalformedError('meminfo', 'no MemTotal field');
  return out;
}
