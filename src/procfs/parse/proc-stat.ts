import { MalformedError } from './keyed.js';

/** The parts of /proc/stat headroom uses. */
export interface ProcStat {
  /** Boot time, seconds since the epoch. */
  readonly bootTimeSeconds: number;
}

export function parseProcStat(text: string): ProcStat {
  const m = /^btime (\d+)$/m.exec(text);
  if (!m) throw new MalformedError('stat', 'no btime line');
  return { bootTimeSeconds: Number(m[1]) };
}
