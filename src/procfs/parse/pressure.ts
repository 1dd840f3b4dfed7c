import { MalformedError } from './keyed.js';

/** One line of a PSI file: averages in percent, total stall time in seconds. */
export interface PressureLine {
  readonly avg10: number;
  readonly avg60: number;
  readonly avg300: number;
  readonly totalSeconds: number;
}

/** A PSI file (/proc/pressure/*, cgroup v2 *.pressure). `full` is absent where the kernel does not print it. */
export interface Pressure {
  readonly some?: PressureLine;
  readonly full?: PressureLine;
}

/** Parses "some avg10=0.00 avg60=0.00 avg300=0.00 total=0" lines. */
export function parsePressure(file: string, text: string): Pressure {
  const result: { some?: PressureLine; full?: PressureLine } = {};
  for (const line of text.split('\n')) {
    if (line.length === 0) continue;
    const [kind, ...pairs] = line.trim().split(/\s+/);
    if (kind !== 'some' && kind !== 'full') throw new MalformedError(file, `unexpected line "${line.slice(0, 60)}"`);
    const fields = new Map<string, number>();
    for (const pair of pairs) {
      const eq = pair.indexOf('=');
      fields.set(pair.slice(0, eq), Number(pair.slice(eq + 1)));
    }
    const avg10 = fields.get('avg10');
    const avg60 = fields.get('avg60');
    const avg300 = fields.get('avg300');
    const total = fields.get('total');
    if ([avg10, avg60, avg300, total].some((v) => v === undefined || !Number.isFinite(v))) {
      throw new MalformedError(file, `incomplete line "${line.slice(0, 80)}"`);
    }
    result[kind] = {
      avg10: avg10 as number,
      avg60: avg60 as number,
      avg300: avg300 as number,
      totalSeconds: (total as number) / 1e6,
    };
  }
  return result;
}
