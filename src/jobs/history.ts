import { join } from 'node:path';
import type { IncidentRecord } from '../incidents/types.js';
import { parseRunLog, runIdOfCgroup, type JobRun, type ParseProblem } from './parse.js';

/** File access for the history (injected: the CLI passes node:fs, tests a temp dir or fixtures). */
export interface HistoryFs {
  /** Names in a directory; [] when it does not exist. */
  list(dir: string): string[];
  readText(path: string): string;
  sizeBytes(path: string): number;
}

export interface HistoryBounds {
  /** Newest files by name first; older ones beyond this are not read. */
  readonly maxFiles: number;
  /** Larger files are skipped (reported). */
  readonly maxFileBytes: number;
}

export const DEFAULT_HISTORY_BOUNDS: HistoryBounds = { maxFiles: 2000, maxFileBytes: 64 * 1024 * 1024 };

/**
 * Every run recorded in the history directory and in extra log files, plus the run ids headroom's remediation
 * stopped (from the incident records, by the job cgroup they name).
 */
export function readJobHistory(
  fs: HistoryFs,
  where: { readonly dirs: readonly string[]; readonly files: readonly string[] },
  incidents: readonly IncidentRecord[],
  bounds: HistoryBounds = DEFAULT_HISTORY_BOUNDS,
): { runs: JobRun[]; stoppedRunIds: Set<string>; problems: ParseProblem[] } {
  const paths: string[] = [];
  for (const dir of where.dirs) {
    const names = fs.list(dir).filter((n) => n.endsWith('.jsonl')).sort().reverse().slice(0, bounds.maxFiles);
    for (const n of names) paths.push(join(dir, n));
  }
  paths.push(...where.files);
  const seen = new Set<string>();
  const runs: JobRun[] = [];
  const problems: ParseProblem[] = [];
  for (const path of paths) {
    if (fs.sizeBytes(path) > bounds.maxFileBytes) {
      problems.push({ source: path, line: 0, problem: `larger than ${bounds.maxFileBytes} bytes: skipped` });
      continue;
    }
    const parsed = parseRunLog(fs.readText(path), path);
    problems.push(...parsed.problems);
    for (const r of parsed.runs) {
      // The same run may be in the history dir and in a --log file given too.
      if (seen.has(r.runId)) continue;
      seen.add(r.runId);
      runs.push(r);
    }
  }
  const stoppedRunIds = new Set<string>();
  for (const i of incidents) {
    if (i.dryRun || i.action === 'throttle' || i.action === 'protect' || i.action === 'drop_caches') continue;
    const id = runIdOfCgroup(i.target.process?.cgroup ?? i.target.cgroup);
    if (id !== undefined) stoppedRunIds.add(id);
  }
  return { runs, stoppedRunIds, problems };
}
