import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { nodeHistoryFs } from '../../src/cli/commands/jobs.js';
import { IncidentStore } from '../../src/incidents/store.js';
import { analyzeJobs, historyNote, jobsJson, markStopped, percentile, renderJobsTable, roundUpLimit, sizeFlag } from '../../src/jobs/analyze.js';
import { readJobHistory } from '../../src/jobs/history.js';
import { parseRunLog, runIdOfCgroup } from '../../src/jobs/parse.js';
import { defaultLogPath } from '../../src/run/options.js';
import { parseConfig } from '../../src/config/load.js';
import { fixture } from '../support/fixtures.js';

const GiB = 1024 ** 3;
const HOST = 62 * GiB;

function fixtureJobs() {
  const h = readJobHistory(nodeHistoryFs(), { dirs: [fixture('jobs', 'runs')], files: [] }, new IncidentStore(fixture('jobs', 'incidents')).list());
  return { h, jobs: analyzeJobs(markStopped(h.runs, h.stoppedRunIds), { hostMemTotalBytes: HOST }) };
}

describe('headroom jobs on the committed fixture logs', () => {
  it('prints exactly the expected table', () => {
    const { jobs } = fixtureJobs();
    expect(renderJobsTable(jobs, HOST)).toBe(
      [
        'JOB       RUNS  PEAK p50       p95       max  DURATION p50       p95       max  HIT LIMIT  STOPPED  RECOMMENDED',
        'big.py       1  63.0 GiB  63.0 GiB  63.0 GiB       1 h 0 m   1 h 0 m   1 h 0 m          0        0  does not fit this host',
        'etl.py       2   3.0 GiB   4.0 GiB   4.0 GiB           2 m       5 m       5 m          1        0  --memory-max 6G --timeout 8m',
        'sweep.py     1   512 MiB   512 MiB   512 MiB      1 m 30 s  1 m 30 s  1 m 30 s          0        0  --memory-max 768M',
        'train.py     4   1.5 GiB   3.0 GiB   3.0 GiB          11 m      15 m      15 m          0        1  --memory-max 3.75G --timeout 18m',
        '',
        'big.py: cannot fit this host: needs 63.0 GiB at p95; this host has 62.0 GiB. Run it on a larger machine or make it use less memory',
        'etl.py: --memory-max 6G --timeout 8m: p95 peak 4.0 GiB + 25 %, rounded up; 1 of 2 runs hit the limit (up to 4.0 GiB), so the real need is above it: at least 1.5× that; timeout: p95 of 1 successful run 5 m + 50 %',
        'sweep.py: --memory-max 768M: p95 peak 512 MiB + 25 %, rounded up; no successful run yet, so no timeout recommendation (1 run without a summary: numbers from the last samples)',
        'train.py: --memory-max 3.75G --timeout 18m: p95 peak 3.0 GiB + 25 %, rounded up; timeout: p95 of 3 successful runs 12 m + 50 %',
        'host MemTotal 62.0 GiB',
        '',
      ].join('\n'),
    );
  });

  it('counts the remediation incident (not the dry run) as a stop, and reports the malformed line', () => {
    const { h, jobs } = fixtureJobs();
    expect([...h.stoppedRunIds]).toEqual(['ddd444']);
    expect(h.problems).toEqual([{ source: fixture('jobs', 'runs', 'sweep.py-hhh888.jsonl'), line: 5, problem: 'not JSON' }]);
    const json = jobsJson(jobs, HOST) as { jobs: Array<{ name: string; runs: number; recommendation: { memory_max_bytes?: number; timeout_seconds?: number; fits: boolean } }> };
    expect(json.jobs.map((j) => [j.name, j.runs, j.recommendation.memory_max_bytes, j.recommendation.timeout_seconds, j.recommendation.fits])).toEqual([
      ['big.py', 1, 80 * GiB, 5400, false],
      ['etl.py', 2, 6 * GiB, 480, true],
      ['sweep.py', 1, 768 * 1024 ** 2, undefined, true],
      ['train.py', 4, 3.75 * GiB, 1080, true],
    ]);
    expect(historyNote(jobs.find((j) => j.name === 'train.py'))).toBe(
      'history of train.py: 4 earlier runs, peak p95 3.0 GiB, max 3.0 GiB, stopped 1×; recommended --memory-max 3.75G --timeout 18m (p95 peak 3.0 GiB + 25 %, rounded up; timeout: p95 of 3 successful runs 12 m + 50 %)',
    );
    expect(historyNote(undefined)).toBeUndefined();
  });

  it('pure helpers: percentiles, rounding, flags, cgroup run ids, the default log location', () => {
    expect(percentile([1, 2, 3, 4], 0.5)).toBe(2);
    expect(percentile([1, 2, 3, 4], 0.95)).toBe(4);
    expect(percentile([], 0.5)).toBeUndefined();
    expect(roundUpLimit(1)).toBe(256 * 1024 ** 2);
    expect(roundUpLimit(9.1 * GiB)).toBe(10 * GiB);
    expect(sizeFlag(2.5 * GiB)).toBe('2.5G');
    expect(sizeFlag(768 * 1024 ** 2)).toBe('768M');
    expect(runIdOfCgroup('/headroom.slice/train.py-k3x9z2')).toBe('k3x9z2');
    expect(runIdOfCgroup('/sandbox/headroom.slice/headroom-train.py-k3x9z2.scope')).toBe('k3x9z2');
    expect(runIdOfCgroup('/user.slice')).toBeUndefined();
    const run = parseConfig({}, 'test').run;
    expect(defaultLogPath(run, '/var/lib/headroom', 'train.py-abc123', undefined)).toBe('/var/lib/headroom/runs/train.py-abc123.jsonl');
    expect(defaultLogPath(run, '/var/lib/headroom', 'train.py-abc123', 'mine.jsonl')).toBe('mine.jsonl');
    expect(defaultLogPath({ ...run, history: false }, '/s', 'x-abc123', undefined)).toBeUndefined();
    expect(defaultLogPath({ ...run, log_dir: '/logs' }, '/s', 'x-abc123', undefined)).toBe('/logs/x-abc123.jsonl');
  });

  it('a run log with several runs (an appended --log) keeps each run; a bad summary names the field', () => {
    const text = readFileSync(fixture('jobs', 'runs', 'train.py-aaa111.jsonl'), 'utf8') + readFileSync(fixture('jobs', 'runs', 'train.py-bbb222.jsonl'), 'utf8') + '{"type":"summary","name":"x","run_id":"zzz999","exit_code":"zero","duration_seconds":1}\n';
    const r = parseRunLog(text, 'mixed.jsonl');
    expect(r.runs.map((x) => x.runId)).toEqual(['aaa111', 'bbb222']);
    expect(r.problems).toEqual([{ source: 'mixed.jsonl', line: 11, problem: 'summary line: exit_code: Invalid input: expected number, received string' }]);
  });
});
