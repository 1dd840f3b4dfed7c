import { MalformedError } from './keyed.js';

/** PF_KTHREAD from include/linux/sched.h: the task is a kernel thread. */
export const PF_KTHREAD = 0x00200000;

/** The fields of /proc/PID/stat that headroom uses (see proc(5)). Times are in clock ticks. */
export interface PidStat {
  readonly pid: number;
  readonly comm: string;
  readonly state: string;
  readonly ppid: number;
  readonly pgrp: number;
  readonly session: number;
  readonly flags: number;
  readonly utimeTicks: number;
  readonly stimeTicks: number;
  readonly startTicks: number;
  readonly vsizeBytes: number;
  readonly rssPages: number;
}

const SPACE = 0x20;
const OPEN = 0x28;
const CLOSE = 0x29;

/**
 * The number written in bytes [start, end): plain decimal digits are read directly (the normal case);
 * anything else ("", "-1", "1e3", garbage) goes through Number() of the text, so the result is always exactly
 * Number()'s. Up to 15 digits are exact in a double, so the fast path cannot round differently.
 */
function numberAt(bytes: Uint8Array, start: number, end: number): number {
  const length = end - start;
  if (length > 0 && length <= 15) {
    let v = 0;
    let i = start;
    for (; i < end; i++) {
      const d = (bytes[i] as number) - 48;
      if (d < 0 || d > 9) break;
      v = v * 10 + d;
    }
    if (i === end) return v;
  }
  return Number(Buffer.from(bytes.buffer, bytes.byteOffset + start, length).toString('latin1'));
}

function finite(fieldNumber: number, v: number): number {
  if (!Number.isFinite(v)) throw new MalformedError('stat', `field ${fieldNumber} is not a number`);
  return v;
}

/** Parses /proc/PID/stat given as text (see parsePidStatBytes). */
export function parsePidStat(text: string): PidStat {
  return parsePidStatBytes(Buffer.from(text, 'utf8'));
}

/**
 * Parses /proc/PID/stat from its bytes. comm may contain spaces and parentheses, so the fixed fields are read
 * after the last ')'. Field numbers below are proc(5)'s (1-based): 3 state, 4 ppid, 5 pgrp, 6 session,
 * 9 flags, 14 utime, 15 stime, 22 starttime, 23 vsize, 24 rss.
 *
 * Called for every process on every scrape, so it reads the bytes once, without decoding the line into a
 * string, splitting it or building arrays; only comm and state become strings. (UTF-8 multi-byte sequences
 * never contain the ASCII bytes searched for, so byte positions work for any comm.)
 */
export function parsePidStatBytes(bytes: Uint8Array): PidStat {
  const length = bytes.length;
  const open = bytes.indexOf(OPEN);
  const close = bytes.lastIndexOf(CLOSE);
  if (open <= 0 || close < open) throw new MalformedError('stat', 'no "(comm)" field');
  const text = (start: number, end: number): string => Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString('utf8');
  let state = '';
  let ppid = Number.NaN;
  let pgrp = Number.NaN;
  let session = Number.NaN;
  let flags = Number.NaN;
  let utime = Number.NaN;
  let stime = Number.NaN;
  let startTicks = Number.NaN;
  let vsize = Number.NaN;
  let rss = Number.NaN;
  // Walk the space-separated fields after ") ", numbered like proc(5); stop after rss (24) or at the end.
  let fieldNumber = 3;
  let start = Math.min(close + 2, length);
  for (;;) {
    const space = bytes.indexOf(SPACE, start);
    const end = space < 0 ? length : space;
    switch (fieldNumber) {
      case 3: state = text(start, end); break;
      case 4: ppid = numberAt(bytes, start, end); break;
      case 5: pgrp = numberAt(bytes, start, end); break;
      case 6: session = numberAt(bytes, start, end); break;
      case 9: flags = numberAt(bytes, start, end); break;
      case 14: utime = numberAt(bytes, start, end); break;
      case 15: stime = numberAt(bytes, start, end); break;
      case 22: startTicks = numberAt(bytes, start, end); break;
      case 23: vsize = numberAt(bytes, start, end); break;
      case 24: rss = numberAt(bytes, start, end); break;
      default: break;
    }
    if (fieldNumber === 24 || space < 0) break;
    fieldNumber++;
    start = space + 1;
  }
  // fieldNumber is now the number of the last field present (all of them when the text ends before rss).
  if (fieldNumber < 24) throw new MalformedError('stat', `only ${fieldNumber} fields`);
  return {
    pid: numberAt(bytes, 0, open - 1),
    comm: text(open + 1, close),
    state,
    ppid: finite(4, ppid),
    pgrp: finite(5, pgrp),
    session: finite(6, session),
    flags: finite(9, flags),
    utimeTicks: finite(14, utime),
    stimeTicks: finite(15, stime),
    startTicks: finite(22, startTicks),
    vsizeBytes: finite(23, vsize),
    rssPages: finite(24, rss),
  };
}
