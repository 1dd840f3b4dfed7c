import { existsSync, readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONDITIONAL_SUITES } from './suites.js';

/** The parts of vitest's JSON reporter output (.test-results.json) the summary reads. */
export interface JsonResults {
  readonly numPassedTests: number;
  readonly numFailedTests: number;
  readonly numPendingTests: number;
  readonly numTodoTests: number;
  readonly testResults: ReadonlyArray<{
    readonly name: string;
    readonly assertionResults: ReadonlyArray<{ readonly ancestorTitles: readonly string[]; readonly title: string; readonly status: string }>;
  }>;
}

/** One registered suite as the summary sees it on this machine. */
export interface SuiteFacts {
  readonly id: string;
  readonly file: string;
  readonly title: string;
  /** Why it cannot run here (undefined: it could). */
  readonly reason: string | undefined;
  readonly requiredHere: boolean;
}

export interface SkipPolicy {
  readonly ci: boolean;
  /** HEADROOM_ALLOW_SKIP: ids (or files, for unregistered skips) whose skip passes in CI. */
  readonly allow: ReadonlySet<string>;
  /** HEADROOM_REQUIRE_SUITES: ids that must not skip, anywhere; "all" for every one. */
  readonly require: ReadonlySet<string>;
}

export interface Summary {
  /** The lines before the closing line: one per skipped suite, then one per failure of the skip rule. */
  readonly lines: readonly string[];
  readonly failed: boolean;
  /** "N passed, N failed, N skipped" — always the last line printed. */
  readonly closing: string;
}

const SKIPPED = new Set(['skipped', 'pending', 'todo']);

/** Groups skipped tests by file and top-level suite, attributes them to the registry, applies the CI rule. */
export function summarize(results: JsonResults, root: string, suites: readonly SuiteFacts[], policy: SkipPolicy): Summary {
  const groups = new Map<string, { file: string; title: string; tests: number }>();
  for (const file of results.testResults) {
    const rel = relative(root, file.name);
    for (const a of file.assertionResults) {
      if (!SKIPPED.has(a.status)) continue;
      const title = a.ancestorTitles[0] ?? a.title;
      const key = `${rel}\u0000${title}`;
      const g = groups.get(key) ?? { file: rel, title, tests: 0 };
      g.tests += 1;
      groups.set(key, g);
    }
  }
  const lines: string[] = [];
  const failures: string[] = [];
  for (const g of groups.values()) {
    const suite = suites.find((s) => s.file === g.file && s.title === g.title);
    const where = `${g.file} › ${g.title} (${g.tests} test${g.tests === 1 ? '' : 's'})`;
    if (suite === undefined) {
      lines.push(`skipped: ${where}: no reason registered (an it.skip/todo, or a suite missing from test/support/suites.ts)`);
      if (policy.ci && !policy.allow.has(g.file)) failures.push(`${where} skipped in CI without a registered reason`);
      continue;
    }
    const reason = suite.reason ?? 'skipped although its requirement is met here (does the suite gate itself with skipSuite?)';
    lines.push(`skipped: ${suite.id} — ${where}: ${reason}`);
    if (policy.require.has(suite.id) || policy.require.has('all')) failures.push(`${suite.id} skipped, but HEADROOM_REQUIRE_SUITES requires it`);
    else if (policy.ci && suite.requiredHere && !policy.allow.has(suite.id))
      failures.push(`${suite.id} skipped in CI on a machine it is for (writable v1 memory cgroup or v2 with memory); fix the machine or set HEADROOM_ALLOW_SKIP=${suite.id}`);
  }
  for (const f of failures) lines.push(`FAIL (skip rule): ${f}`);
  const skipped = results.numPendingTests + results.numTodoTests;
  return { lines, failed: failures.length > 0, closing: `${results.numPassedTests} passed, ${results.numFailedTests} failed, ${skipped} skipped` };
}

const list = (value: string | undefined): Set<string> => new Set((value ?? '').split(',').map((s) => s.trim()).filter((s) => s !== ''));

/** Several vitest runs (the main suite, the guest lane) as one: counts added, files listed together. */
export function combineResults(runs: readonly JsonResults[]): JsonResults {
  return {
    numPassedTests: runs.reduce((n, r) => n + r.numPassedTests, 0),
    numFailedTests: runs.reduce((n, r) => n + r.numFailedTests, 0),
    numPendingTests: runs.reduce((n, r) => n + r.numPendingTests, 0),
    numTodoTests: runs.reduce((n, r) => n + r.numTodoTests, 0),
    testResults: runs.flatMap((r) => r.testResults),
  };
}

/**
 * `tsx test/support/skip-summary.ts [RESULTS.json …]`: prints the summary of every given vitest JSON report that
 * exists (default .test-results.json); exit 1 when the skip rule fails.
 */
function main(): void {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const files = process.argv.length > 2 ? process.argv.slice(2) : ['.test-results.json'];
  const results = combineResults(files.filter((f) => existsSync(f)).map((f) => JSON.parse(readFileSync(f, 'utf8')) as JsonResults));
  const facts = CONDITIONAL_SUITES.map((s) => ({ id: s.id, file: s.file, title: s.title, reason: s.unavailable(), requiredHere: s.requiredHere() }));
  const summary = summarize(results, root, facts, {
    ci: process.env.CI === 'true' || process.env.CI === '1',
    allow: list(process.env.HEADROOM_ALLOW_SKIP),
    require: list(process.env.HEADROOM_REQUIRE_SUITES),
  });
  for (const line of summary.lines) console.log(line);
  console.log(summary.closing);
  process.exitCode = summary.failed ? 1 : 0;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) main();
