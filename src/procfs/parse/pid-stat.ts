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

/**
 * Parses /proc/PID/stat. comm may contain spaces and parentheses, so the fixed fields are read after the
 * last ')'. Field numbers below are proc(5)'s (1-based): 3 state, 4 ppid, 5 pgrp, 6 session, 9 flags,
 * 14 utime, 15 stime, 22 starttime, 23 vsize, 24 rss.
 */
export function parsePidStat(text: string): PidStat {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open <= 0 || close < open) throw new MalformedError('stat', 'no "(comm)" field');
  const rest = text.slice(close + 2).split(' ');
  if (rest.length < 22) throw new MalformedError('stat', `only ${rest.length + 2} fields`);
  const num = (fieldNumber: number): number => {
    const v = Number(rest[fieldNumber - 3]);
    if (!Number.isFinite(v)) throw new MalformedError('stat', `field ${fieldNumber} is not a number`);
    return v;
  };
  return {
    pid: Number(text.slice(0, open - 1)),
    comm: text.slice(open + 1, close),
    state: rest[0] ?? '?',
    ppid: num(4),
    pgrp: num(5),
    session: num(6),
    flags: num(9),
    utimeTicks: num(14),
    stimeTicks: num(15),
    startTicks: num(22),
    vsizeBytes: num(23),
    rssPages: num(24),
  };
}
