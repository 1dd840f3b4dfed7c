import { formatBytes, formatDuration } from '../config/units.js';

export interface PreflightInput {
  /** Required MemAvailable in bytes; undefined = no check. */
  readonly requireBytes: number | undefined;
  /** How long to wait for memory to come back, in ms; undefined = refuse at once. */
  readonly waitMs: number | undefined;
  readonly memTotalBytes: number;
  /** Reads MemAvailable now. */
  readonly available: () => number;
  readonly monotonicMs: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  /** Progress lines while waiting. */
  readonly progress: (line: string) => void;
  /** True once the user asked headroom to stop (Ctrl-C while waiting). */
  readonly cancelled: () => boolean;
  /** Time between checks while waiting (ms). */
  readonly pollMs?: number;
}

export type PreflightResult =
  | { ok: true; availableBytes: number; waitedMs: number }
  | { ok: false; reason: string; cancelled: boolean };

/**
 * The pre-flight memory check: MemAvailable must be at least the requirement. A requirement above MemTotal can
 * never be met, so it is refused at once even with a wait. Otherwise, with a wait, MemAvailable is re-read every
 * pollMs until it suffices or the wait is over, with a progress line at most every 10 s (and on each change of
 * more than 5 %). Bounded: at most waitMs / pollMs + 1 checks.
 */
export async function preflight(input: PreflightInput): Promise<PreflightResult> {
  const need = input.requireBytes;
  const first = input.available();
  if (need === undefined || first >= need) return { ok: true, availableBytes: first, waitedMs: 0 };
  if (need > input.memTotalBytes) {
    return {
      ok: false,
      cancelled: false,
      reason: `needs ${formatBytes(need)} available but this machine has only ${formatBytes(input.memTotalBytes)} in total (MemTotal); lower --require-available`,
    };
  }
  const short = (avail: number): string =>
    `${formatBytes(avail)} available (MemAvailable), ${formatBytes(need)} required (--require-available)`;
  if (input.waitMs === undefined) {
    return { ok: false, cancelled: false, reason: `not enough memory: ${short(first)}; free memory or pass --wait-available 10m to wait` };
  }
  const pollMs = input.pollMs ?? 1000;
  const start = input.monotonicMs();
  const maxChecks = Math.ceil(input.waitMs / pollMs) + 1;
  let lastValue = first;
  input.progress(`waiting up to ${formatDuration(input.waitMs)} for memory: ${short(first)}`);
  let lastPrinted = start;
  for (let check = 0; check < maxChecks; check++) {
    if (input.cancelled()) return { ok: false, cancelled: true, reason: 'stopped while waiting for memory' };
    const elapsed = input.monotonicMs() - start;
    if (elapsed >= input.waitMs) break;
    await input.sleep(Math.min(pollMs, input.waitMs - elapsed));
    const avail = input.available();
    const now = input.monotonicMs();
    if (avail >= need) {
      input.progress(`memory is back after ${formatDuration(now - start)}: ${formatBytes(avail)} available`);
      return { ok: true, availableBytes: avail, waitedMs: now - start };
    }
    if (now - lastPrinted >= 10_000 || Math.abs(avail - lastValue) > 0.05 * need) {
      input.progress(`still waiting (${formatDuration(now - start)} of ${formatDuration(input.waitMs)}): ${short(avail)}`);
      lastPrinted = now;
      lastValue = avail;
    }
  }
  const avail = input.available();
  return {
    ok: false,
    cancelled: false,
    reason: `not enough memory after waiting ${formatDuration(input.waitMs)}: ${short(avail)}`,
  };
}
