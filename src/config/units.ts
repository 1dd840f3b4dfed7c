/**
 * Human units used in config files and on the command line: sizes ("50G", "512M", "1.5GiB", "5%") and
 * durations ("90s", "1h30m", "250ms"). Pure functions; every failure says what was wrong and what is allowed.
 */

export const SIZE_HELP = 'a size such as 512M, 50G, 1.5GiB or a plain number of bytes (K/M/G/T are powers of 1024)';
export const SIZE_OR_PERCENT_HELP = `${SIZE_HELP}, or a percentage of MemTotal such as 80%`;
export const SIZE_BOUND_HELP = `${SIZE_OR_PERCENT_HELP}, or the smaller of two such as min(1G, 5%)`;
export const DURATION_HELP = 'a duration such as 250ms, 90s, 15m, 1h or 1h30m';

const SIZE_FACTORS: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1024 ** 4,
  tib: 1024 ** 4,
};

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: string };

/** Parses "512M" / "50G" / "1.5GiB" / "1048576" into a whole number of bytes (> 0). */
export function parseSize(text: string): ParseResult<number> {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  if (!m) return { ok: false, error: `"${text}" is not ${SIZE_HELP}` };
  const factor = SIZE_FACTORS[(m[2] ?? '').toLowerCase()];
  if (factor === undefined) return { ok: false, error: `"${text}" has an unknown unit "${m[2]}"; expected ${SIZE_HELP}` };
  const bytes = Math.round(Number(m[1]) * factor);
  if (!(bytes > 0)) return { ok: false, error: `"${text}" must be greater than zero` };
  return { ok: true, value: bytes };
}

export type SizeOrPercent = { kind: 'bytes'; bytes: number } | { kind: 'percent'; ratio: number };

/** Parses a size or a percentage of MemTotal ("80%"); percentages must be in (0, 100]. */
export function parseSizeOrPercent(text: string): ParseResult<SizeOrPercent> {
  const pm = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(text);
  if (pm) {
    const pct = Number(pm[1]);
    if (!(pct > 0 && pct <= 100)) return { ok: false, error: `"${text}" must be a percentage above 0 and at most 100` };
    return { ok: true, value: { kind: 'percent', ratio: pct / 100 } };
  }
  const size = parseSize(text);
  if (!size.ok) return { ok: false, error: `"${text}" is not ${SIZE_OR_PERCENT_HELP}` };
  return { ok: true, value: { kind: 'bytes', bytes: size.value } };
}

/** A size, a percentage of MemTotal, or the smaller of two of them ("min(1G, 5%)"). */
export type SizeBound = SizeOrPercent | { kind: 'min'; of: readonly [SizeOrPercent, SizeOrPercent] };

/** Parses a size, a percentage of MemTotal, or "min(A, B)" of two of them (remediation.min_victim_size). */
export function parseSizeBound(text: string): ParseResult<SizeBound> {
  const mm = /^\s*min\s*\(([^,()]*),([^,()]*)\)\s*$/i.exec(text);
  if (mm) {
    const a = parseSizeOrPercent(mm[1] ?? '');
    const b = parseSizeOrPercent(mm[2] ?? '');
    if (!a.ok) return { ok: false, error: `"${text}": ${a.error}` };
    if (!b.ok) return { ok: false, error: `"${text}": ${b.error}` };
    return { ok: true, value: { kind: 'min', of: [a.value, b.value] } };
  }
  const one = parseSizeOrPercent(text);
  if (!one.ok) return { ok: false, error: `"${text}" is not ${SIZE_BOUND_HELP}` };
  return one;
}

/** Resolves a size-or-percent (or the smaller of two) against the host's MemTotal. */
export function resolveSize(value: SizeBound, memTotalBytes: number): number {
  if (value.kind === 'min') return Math.min(resolveSize(value.of[0], memTotalBytes), resolveSize(value.of[1], memTotalBytes));
  return value.kind === 'bytes' ? value.bytes : Math.round(value.ratio * memTotalBytes);
}

const DURATION_FACTORS_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** Parses "90s", "1h30m", "250ms" (or a bare number of seconds) into milliseconds (> 0). */
export function parseDuration(text: string): ParseResult<number> {
  const trimmed = text.trim();
  if (/^\d+(?:\.\d+)?$/.test(trimmed)) {
    const ms = Math.round(Number(trimmed) * 1000);
    return ms > 0 ? { ok: true, value: ms } : { ok: false, error: `"${text}" must be greater than zero` };
  }
  const part = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let consumed = 0;
  let match: RegExpExecArray | null;
  while ((match = part.exec(trimmed)) !== null) {
    total += Number(match[1]) * (DURATION_FACTORS_MS[match[2] ?? ''] ?? Number.NaN);
    consumed = part.lastIndex;
  }
  if (trimmed.length === 0 || consumed !== trimmed.length || !Number.isFinite(total)) {
    return { ok: false, error: `"${text}" is not ${DURATION_HELP}` };
  }
  const ms = Math.round(total);
  if (!(ms > 0)) return { ok: false, error: `"${text}" must be greater than zero` };
  return { ok: true, value: ms };
}

/** Formats bytes for people: "870 MiB", "61.0 GiB". */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = Math.abs(bytes);
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const sign = bytes < 0 ? '-' : '';
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  return `${sign}${value.toFixed(digits)} ${units[unit]}`;
}

/** Formats a duration for people: "3 h 12 m", "45 s", "250 ms". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const totalSeconds = Math.round(ms / 1000);
  const h = Math.floor(totalSeconds / 3600);
  const m = Math.floor((totalSeconds % 3600) / 60);
  const s = totalSeconds % 60;
  if (h > 0) return `${h} h ${m} m`;
  if (m > 0) return s > 0 ? `${m} m ${s} s` : `${m} m`;
  return `${s} s`;
}
