import { z } from 'zod';

/**
 * The resource logs of `headroom run` (src/run/report.ts writes them): JSON lines of type "start", "sample",
 * "error" and a final "summary". Only the fields `headroom jobs` uses are validated; unknown fields and line
 * types are tolerated. One file may hold several runs (--log opened for append), keyed by run_id.
 */

const num = z.number().finite();
const startLine = z.looseObject({
  type: z.literal('start'),
  ts: z.string(),
  name: z.string().min(1),
  run_id: z.string().min(1),
  limits: z.looseObject({ memory_max_bytes: num.nullable().optional() }).optional(),
});
const sampleLine = z.looseObject({
  type: z.literal('sample'),
  t: num,
  memory_bytes: num.optional(),
  peak_bytes: num.optional(),
  oom_kills: num.optional(),
});
const summaryLine = z.looseObject({
  type: z.literal('summary'),
  name: z.string().min(1),
  run_id: z.string().min(1),
  exit_code: z.number().int(),
  headline: z.string().optional(),
  killed_by_kernel: z.boolean().optional(),
  duration_seconds: num,
  peak_bytes: num.optional(),
  limit_bytes: num.optional(),
  limit_hits: num.optional(),
  oom_kills: num.optional(),
});

/** One run as `headroom jobs` sees it. */
export interface JobRun {
  readonly name: string;
  readonly runId: string;
  /** Start time (ISO), when the start line was seen. */
  readonly startedAt?: string;
  /** Peak memory of the job's cgroup (the kernel's high-water mark when it keeps one). */
  readonly peakBytes?: number;
  readonly durationSeconds?: number;
  readonly limitBytes?: number;
  readonly exitCode?: number;
  /** The kernel stopped a process of the job at its limit (OOM kill in the job's cgroup). */
  readonly hitLimit: boolean;
  /** --timeout stopped it (exit 124). */
  readonly timedOut: boolean;
  /** headroom's remediation stopped it (an incident names the job's cgroup). Filled in by the analysis. */
  readonly stoppedByHeadroom: boolean;
  /** No summary line: headroom run itself was killed; the numbers come from the last samples. */
  readonly incomplete: boolean;
  readonly source: string;
}

export interface ParseProblem {
  readonly source: string;
  readonly line: number;
  readonly problem: string;
}

/** Parses one resource log (pure). Lines that are not JSON, or whose used fields are malformed, are reported. */
export function parseRunLog(text: string, source: string): { runs: JobRun[]; problems: ParseProblem[] } {
  const problems: ParseProblem[] = [];
  interface Acc { name?: string; startedAt?: string; limit?: number; peak?: number; lastT?: number; oom?: number; summary?: z.infer<typeof summaryLine> }
  const byRun = new Map<string, Acc>();
  let current: string | undefined;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]?.trim() ?? '';
    if (raw === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      problems.push({ source, line: i + 1, problem: 'not JSON' });
      continue;
    }
    const type = typeof value === 'object' && value !== null && 'type' in value ? (value).type : undefined;
    const schema = type === 'start' ? startLine : type === 'sample' ? sampleLine : type === 'summary' ? summaryLine : undefined;
    if (schema === undefined) continue;
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      problems.push({ source, line: i + 1, problem: `${String(type)} line: ${issue?.path.join('.') || '(line)'}: ${issue?.message ?? 'invalid'}` });
      continue;
    }
    const d = parsed.data;
    if (d.type === 'start') {
      current = d.run_id;
      byRun.set(d.run_id, { ...byRun.get(d.run_id), name: d.name, startedAt: d.ts, limit: d.limits?.memory_max_bytes ?? undefined });
    } else if (d.type === 'sample') {
      if (current === undefined) continue;
      const acc = byRun.get(current) ?? {};
      const v = Math.max(d.peak_bytes ?? 0, d.memory_bytes ?? 0);
      acc.peak = Math.max(acc.peak ?? 0, v);
      acc.lastT = d.t;
      if (d.oom_kills !== undefined) acc.oom = d.oom_kills;
      byRun.set(current, acc);
    } else {
      const acc = byRun.get(d.run_id) ?? {};
      acc.summary = d;
      acc.name ??= d.name;
      byRun.set(d.run_id, acc);
      current = undefined;
    }
  }
  const runs: JobRun[] = [];
  for (const [runId, a] of byRun) {
    if (a.name === undefined) continue;
    const s = a.summary;
    runs.push(
      s !== undefined
        ? {
            name: a.name,
            runId,
            startedAt: a.startedAt,
            peakBytes: s.peak_bytes,
            durationSeconds: s.duration_seconds,
            limitBytes: s.limit_bytes ?? a.limit,
            exitCode: s.exit_code,
            hitLimit: s.killed_by_kernel === true || (s.oom_kills ?? 0) > 0,
            timedOut: s.exit_code === 124,
            stoppedByHeadroom: false,
            incomplete: false,
            source,
          }
        : {
            name: a.name,
            runId,
            startedAt: a.startedAt,
            peakBytes: a.peak,
            durationSeconds: a.lastT,
            limitBytes: a.limit,
            hitLimit: false,
            timedOut: false,
            stoppedByHeadroom: false,
            incomplete: true,
            source,
          },
    );
  }
  return { runs, problems };
}

/** "/headroom.slice/train.py-k3x9z2" (or a nested parent) → the run id "k3x9z2" of that job cgroup. */
export function runIdOfCgroup(cgroup: string | undefined): string | undefined {
  if (cgroup === undefined) return undefined;
  const m = /headroom\.slice\/[A-Za-z0-9][A-Za-z0-9_.-]*-([a-z0-9]{6})(?:\.scope)?(?:\/|$)/.exec(cgroup);
  return m?.[1];
}
