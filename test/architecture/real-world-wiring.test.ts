import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * DEVELOPERS.md: only the entry point (src/cli/main.ts) and the agent's composition root (src/agent/agent.ts,
 * with its real timers and system calls in src/agent/system.ts) touch clocks, timers and the process; the
 * layers of the agent below them take those as arguments.
 */
const SRC = fileURLToPath(new URL('../../src', import.meta.url));
const LAYERS = ['domain', 'policy', 'actions', 'remediation', 'receiver', 'guard', 'audit', 'incidents', 'notify', 'exporter', 'collectors', 'procfs', 'logging', 'agent', 'fleet', 'web', 'history', 'evidence', 'unowned', 'jobs'];
const ALLOWED = new Set(['agent/system.ts']);
const REAL = /Date\.now\(|new Date\(\)|setTimeout\(|setInterval\(|setImmediate\(|performance\.now\(|(?<![\w.`$])process\.[a-z]|from 'node:os'/;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Code lines only: comments are allowed to name what production passes in. */
function codeLines(text: string): Array<{ line: number; text: string }> {
  const out: Array<{ line: number; text: string }> = [];
  let inBlock = false;
  text.split('\n').forEach((raw, i) => {
    let t = raw;
    if (inBlock) {
      const end = t.indexOf('*/');
      if (end < 0) return;
      t = t.slice(end + 2);
      inBlock = false;
    }
    t = t.replace(/\/\*.*?\*\//g, '');
    const start = t.indexOf('/*');
    if (start >= 0) {
      inBlock = true;
      t = t.slice(0, start);
    }
    t = t.replace(/\/\/.*$/, '');
    out.push({ line: i + 1, text: t });
  });
  return out;
}

describe('real clocks, timers and the process are wired by the composition root only', () => {
  it('no layer of the agent below src/agent/agent.ts reaches for them', () => {
    const offenders: string[] = [];
    for (const layer of LAYERS) {
      for (const file of files(join(SRC, layer))) {
        const rel = relative(SRC, file);
        if (ALLOWED.has(rel)) continue;
        for (const { line, text } of codeLines(readFileSync(file, 'utf8'))) if (REAL.test(text)) offenders.push(`${rel}:${line}: ${text.trim()}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it('the check has teeth: it sees a direct clock in code and ignores one in a comment', () => {
    expect(codeLines('const t = Date.now();').some((l) => REAL.test(l.text))).toBe(true);
    expect(codeLines('/** Date.now() in production */\nconst x = 1;').some((l) => REAL.test(l.text))).toBe(false);
    expect(codeLines("import { hostname } from 'node:os';").some((l) => REAL.test(l.text))).toBe(true);
  });
});
