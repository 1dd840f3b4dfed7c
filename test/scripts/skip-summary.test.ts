import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { summarize, type JsonResults, type SuiteFacts } from '../support/skip-summary.js';
import { CONDITIONAL_SUITES, cgroupMemoryMachine } from '../support/suites.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), `headroom-skip-summary-${process.pid}-`));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const replay = CONDITIONAL_SUITES.find((s) => s.id === 'crisis-replay');

/** vitest JSON output: one passing file, the crisis replay skipped (2 tests), optionally an it.skip elsewhere. */
function results(opts: { replaySkipped?: boolean; strayItSkip?: boolean } = {}): JsonResults {
  const replayStatus = opts.replaySkipped === false ? 'passed' : 'skipped';
  return {
    numPassedTests: 3 + (replayStatus === 'passed' ? 2 : 0),
    numFailedTests: 0,
    numPendingTests: (replayStatus === 'skipped' ? 2 : 0) + (opts.strayItSkip ? 1 : 0),
    numTodoTests: 0,
    testResults: [
      { name: join(ROOT, 'test/config/config.test.ts'), assertionResults: [1, 2, 3].map((n) => ({ ancestorTitles: ['config file'], title: `t${n}`, status: 'passed' })) },
      {
        name: join(ROOT, replay?.file ?? ''),
        assertionResults: ['receiver path', 'guard path'].map((title) => ({ ancestorTitles: [replay?.title ?? ''], title, status: replayStatus })),
      },
      ...(opts.strayItSkip ? [{ name: join(ROOT, 'test/cli/cli.test.ts'), assertionResults: [{ ancestorTitles: ['cli'], title: 'later', status: 'skipped' }] }] : []),
    ],
  };
}

const facts = (reason: string | undefined, requiredHere: boolean): SuiteFacts[] => [
  { id: 'crisis-replay', file: replay?.file ?? '', title: replay?.title ?? '', reason, requiredHere },
];
const none = new Set<string>();

describe('the closing summary of scripts/test', () => {
  it('names every skipped suite and why, and keeps "N passed, N failed, N skipped" as the closing line', () => {
    const s = summarize(results(), ROOT, facts('no cgroup v1 memory controller at /sys/fs/cgroup/memory', false), { ci: false, allow: none, require: none });
    expect(s.lines).toEqual([
      'skipped: crisis-replay — test/replay/crisis-replay.test.ts › crisis replay (real Prometheus, Alertmanager, cgroups) (2 tests): no cgroup v1 memory controller at /sys/fs/cgroup/memory',
    ]);
    expect(s.closing).toBe('3 passed, 0 failed, 2 skipped');
    expect(s.failed).toBe(false);
    expect(summarize(results({ replaySkipped: false }), ROOT, facts(undefined, true), { ci: true, allow: none, require: none })).toEqual({ lines: [], failed: false, closing: '5 passed, 0 failed, 0 skipped' });
  });

  it('in CI fails when a suite skips on a machine of the kind it is for, unless HEADROOM_ALLOW_SKIP names it', () => {
    const ci = summarize(results(), ROOT, facts('cannot create a cgroup under /sys/fs/cgroup/memory (EACCES: not root?)', true), { ci: true, allow: none, require: none });
    expect(ci.failed).toBe(true);
    expect(ci.lines[ci.lines.length - 1]).toMatch(/^FAIL \(skip rule\): crisis-replay skipped in CI on a machine it is for/);
    expect(summarize(results(), ROOT, facts('x', true), { ci: true, allow: new Set(['crisis-replay']), require: none }).failed).toBe(false);
    // A machine of another kind (no writable v1 memory cgroup, no v2 memory): the skip is listed, CI passes.
    expect(summarize(results(), ROOT, facts('no cgroup v1 memory controller', false), { ci: true, allow: none, require: none }).failed).toBe(false);
  });

  it('fails on HEADROOM_REQUIRE_SUITES anywhere, and on an unregistered skip in CI', () => {
    expect(summarize(results(), ROOT, facts('x', false), { ci: false, allow: none, require: new Set(['crisis-replay']) }).failed).toBe(true);
    expect(summarize(results(), ROOT, facts('x', false), { ci: false, allow: none, require: new Set(['all']) }).failed).toBe(true);
    const stray = summarize(results({ replaySkipped: false, strayItSkip: true }), ROOT, facts(undefined, false), { ci: true, allow: none, require: none });
    expect(stray.lines[0]).toBe('skipped: test/cli/cli.test.ts › cli (1 test): no reason registered (an it.skip/todo, or a suite missing from test/support/suites.ts)');
    expect(stray.failed).toBe(true);
    expect(summarize(results({ replaySkipped: false, strayItSkip: true }), ROOT, facts(undefined, false), { ci: false, allow: none, require: none }).failed).toBe(false);
  });

  it('the summary CLI that scripts/test runs: on this machine in CI a skipped real-cgroup suite fails the run; the closing line stays last', () => {
    const file = join(dir, 'results.json');
    writeFileSync(file, JSON.stringify(results()));
    const tsx = join(ROOT, 'node_modules/.bin/tsx');
    const run = (env: Record<string, string>) => spawnSync(tsx, ['test/support/skip-summary.ts', file], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, CI: '', HEADROOM_ALLOW_SKIP: '', HEADROOM_REQUIRE_SUITES: '', ...env } });
    const local = run({});
    expect(local.status, local.stderr).toBe(0);
    const out = local.stdout.trimEnd().split('\n');
    expect(out[out.length - 1]).toBe('3 passed, 0 failed, 2 skipped');
    expect(out[0]).toMatch(/^skipped: crisis-replay — test\/replay\/crisis-replay\.test\.ts › .*\(2 tests\): /);
    const ci = run({ CI: 'true' });
    expect(ci.status).toBe(cgroupMemoryMachine() ? 1 : 0);
    const ciOut = ci.stdout.trimEnd().split('\n');
    expect(ciOut[ciOut.length - 1]).toBe('3 passed, 0 failed, 2 skipped');
    expect(run({ CI: 'true', HEADROOM_ALLOW_SKIP: 'crisis-replay' }).status).toBe(0);
    // scripts/test prints this summary as its closing and fails with it.
    const script = readFileSync(join(ROOT, 'scripts/test'), 'utf8');
    expect(script).toMatch(/tsx test\/support\/skip-summary\.ts \.test-results\.json/);
  });
});

describe('the registry of conditional suites', () => {
  it('each entry names a file that gates that suite with skipSuite(id) under that title', () => {
    for (const s of CONDITIONAL_SUITES) {
      const text = readFileSync(join(ROOT, s.file), 'utf8');
      expect(text, s.file).toContain(`skipSuite('${s.id}')`);
      expect(text, s.file).toContain(`'${s.title}'`);
    }
  });

  it('no test file skips a suite by its own condition (every skipIf/runIf goes through skipSuite)', () => {
    const walk = (d: string): string[] => readdirSync(d).flatMap((n) => (statSync(join(d, n)).isDirectory() ? walk(join(d, n)) : n.endsWith('.test.ts') ? [join(d, n)] : []));
    const offenders = walk(join(ROOT, 'test'))
      .filter((f) => existsSync(f))
      .flatMap((f) =>
        readFileSync(f, 'utf8')
          .split('\n')
          .map((line, i) => ({ line, at: `${f.slice(ROOT.length)}:${i + 1}` }))
          .filter(({ line }) => /\b(describe|it|test)\.(skipIf|runIf)\(/.test(line) && !/\.skipIf\(skipSuite\('/.test(line))
          .map(({ at, line }) => `${at}: ${line.trim()}`),
      );
    expect(offenders).toEqual([]);
  });
});
