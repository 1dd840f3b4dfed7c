import { z } from 'zod';
import {
  DURATION_HELP,
  SIZE_HELP,
  SIZE_BOUND_HELP,
  SIZE_OR_PERCENT_HELP,
  parseDuration,
  parseSize,
  parseSizeBound,
  parseSizeOrPercent,
  type SizeBound,
  type SizeOrPercent,
} from './units.js';

/**
 * Building blocks for config sections. Each one carries the "what is allowed" text that config errors show,
 * so a section file only says what its keys are.
 */

/** An object that rejects unknown keys and names the allowed ones. Missing → its defaults. */
export function section<T extends z.ZodRawShape>(shape: T) {
  const allowed = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (issue) => (issue.code === 'unrecognized_keys' ? `unknown key; allowed keys here: ${allowed}` : undefined),
  });
}

/** A value written as a number or a string (sizes, durations, ratios); any other type gets `must be <help>`. */
export function numberOrString(help: string) {
  return z.union([z.number(), z.string()], { error: (issue) => (issue.code === 'invalid_union' ? `must be ${help}` : undefined) });
}

const RATIO_HELP = 'a ratio above 0 and at most 1 (0.8) or a percentage (80%)';

/** A size in bytes: "512M", "50G" or a number of bytes. */
export function size() {
  return numberOrString(SIZE_HELP).transform((value, ctx): number => {
    if (typeof value === 'number') {
      if (Number.isInteger(value) && value > 0) return value;
      ctx.addIssue({ code: 'custom', message: `must be ${SIZE_HELP}` });
      return z.NEVER;
    }
    const parsed = parseSize(value);
    if (parsed.ok) return parsed.value;
    ctx.addIssue({ code: 'custom', message: parsed.error });
    return z.NEVER;
  });
}

/** A size or a percentage of MemTotal: "50G", "80%". */
export function sizeOrPercent() {
  return numberOrString(SIZE_OR_PERCENT_HELP).transform((value, ctx): SizeOrPercent => {
    const parsed = parseSizeOrPercent(String(value));
    if (parsed.ok) return parsed.value;
    ctx.addIssue({ code: 'custom', message: `must be ${SIZE_OR_PERCENT_HELP}` });
    return z.NEVER;
  });
}

/** A size, a percentage of MemTotal, or the smaller of two: "1G", "5%", "min(1G, 5%)". */
export function sizeBound() {
  return numberOrString(SIZE_BOUND_HELP).transform((value, ctx): SizeBound => {
    const parsed = parseSizeBound(String(value));
    if (parsed.ok) return parsed.value;
    ctx.addIssue({ code: 'custom', message: `must be ${SIZE_BOUND_HELP}` });
    return z.NEVER;
  });
}

/** A duration in milliseconds: "90s", "1h30m". */
export function duration() {
  return numberOrString(DURATION_HELP).transform((value, ctx): number => {
    const parsed = parseDuration(String(value));
    if (parsed.ok) return parsed.value;
    ctx.addIssue({ code: 'custom', message: `must be ${DURATION_HELP}` });
    return z.NEVER;
  });
}

/** A ratio in (0, 1], written 0.8 or "80%". */
export function ratio() {
  return numberOrString(RATIO_HELP).transform((value, ctx): number => {
    const m = typeof value === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(value) : null;
    const r = typeof value === 'number' ? value : m ? Number(m[1]) / 100 : Number.NaN;
    if (r > 0 && r <= 1) return r;
    ctx.addIssue({ code: 'custom', message: `must be ${RATIO_HELP}` });
    return z.NEVER;
  });
}

/** A whole number ≥ min. */
export function count(min = 1) {
  return z.number({ error: `must be a whole number ≥ ${min}` }).int({ error: `must be a whole number ≥ ${min}` }).min(min, {
    error: `must be a whole number ≥ ${min}`,
  });
}

/** A regular expression given as a string; compiled to check it. */
export function regex() {
  return z.string().refine(
    (value) => {
      try {
        new RegExp(value);
        return true;
      } catch {
        return false;
      }
    },
    { error: 'must be a valid JavaScript regular expression' },
  );
}

/** "host:port" with a port in 1–65535. */
export function listenAddress() {
  return z.string({ error: 'must be HOST:PORT, e.g. 127.0.0.1:9632' }).refine((value) => /^(\[[0-9a-fA-F:]+\]|[^:\s]+):(\d{1,5})$/.test(value) && Number(value.split(':').pop()) <= 65535, {
    error: 'must be HOST:PORT, e.g. 127.0.0.1:9632',
  });
}
