import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, requireBuiltCli } from '../support/cli.js';
import { fixture } from '../support/fixtures.js';
import { prepareState } from './helpers.js';

/** `headroom status` in a real terminal: tmux with a fixed size, send-keys, capture-pane. */
const SESSION = `headroom-people-status-${process.pid}`;
const tmux = (...args: string[]): string => execFileSync('tmux', args, { encoding: 'utf8', timeout: 10_000 });
const screen = (): string[] => tmux('capture-pane', '-p', '-t', SESSION).split('\n');

async function waitFor(pred: (lines: string[]) => boolean, ms: number, what: string): Promise<string[]> {
  const deadline = Date.now() + ms;
  let lines = screen();
  while (!pred(lines)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; screen:\n${lines.join('\n')}`);
    await new Promise((r) => setTimeout(r, 100));
    lines = screen();
  }
  return lines;
}

describe('headroom status in tmux (120×40)', () => {
  let dir: string;
  beforeAll(() => {
    requireBuiltCli();
    // Fails loudly when tmux is missing: scripts/install-deps.sh installs it.
    tmux('-V');
    dir = mkdtempSync(join(tmpdir(), `headroom-people-tmux-${process.pid}-`));
    prepareState(dir);
    writeFileSync(join(dir, 'config.yml'), `agent:\n  passwd: ${fixture('etc', 'passwd')}\n`);
    tmux('new-session', '-d', '-s', SESSION, '-x', '120', '-y', '40', 'sh');
  });
  afterAll(() => {
    // Only the session this test created, by its unique name.
    tmux('kill-session', '-t', SESSION);
    rmSync(dir, { recursive: true, force: true });
  });

  const command = (extra: string): string =>
    `${process.execPath} ${CLI} status --config ${join(dir, 'config.yml')} --state-dir ${dir} --sample-file ${join(dir, 's.json')} --path.procfs ${fixture('proc')} --path.cgroupfs ${fixture('cgroup-v2')} ${extra}`;

  it('prints the layout fitted to the terminal width', async () => {
    tmux('send-keys', '-t', SESSION, `clear; ${command('')}; echo EXIT=$?`, 'Enter');
    const header = (x: string): boolean => /^headroom status — \S+ — \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/.test(x);
    const lines = await waitFor((l) => l.some((x) => x.startsWith('EXIT=')) && l.some(header), 20_000, 'the command to finish');
    const start = lines.findIndex((l) => /^headroom status — \S+ — \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/.test(l));
    expect(start).toBeGreaterThanOrEqual(0);
    const body = lines.slice(start);
    expect(body[2]).toBe('memory    99% used  61.9 GiB of 62.8 GiB, 870 MiB available');
    expect(body[3]).toBe('          [################################|#####!-]  | warning 80%  ! critical 95%');
    expect(body[6]).toMatch(/^agent {5}running {2}pid 110 /);
    expect(body[11]).toMatch(/ 3 {2}\d+ h \d+ m +ml +python3 pipelines\/training\//);
    expect(body[9]).toBe('TOP PROCESS TREES (13 processes)');
    expect(body[10]).toMatch(/^ {5}PID {8}RSS {2}SHARE {2}GROWTH {12}PROCS {2}RUNTIME {4}USER {6}COMMAND$/);
    // Columns line up: the RSS column ends at the same place on every row.
    const rows = body.slice(11, 16);
    expect(rows.map((r) => r.slice(0, 8).trim())).toEqual(['300', '400', '110', '90', '1']);
    expect(new Set(rows.map((r) => r.indexOf('iB') ))).toEqual(new Set([17]));
    // Long command lines are cut at the terminal's 120 columns, with an ellipsis.
    for (const l of body) expect(l.length).toBeLessThanOrEqual(120);
    expect(body.some((l) => l.length === 120 && l.endsWith('…'))).toBe(true);
    expect(body.find((l) => l.startsWith('EXIT='))).toBe('EXIT=0');
  });

  it('--watch redraws in place and stops on Ctrl-C', async () => {
    tmux('send-keys', '-t', SESSION, `clear; ${command('--watch --interval 200ms')}`, 'Enter');
    const first = await waitFor((l) => l[0]?.startsWith('headroom status — ') === true && l.some((x) => x.startsWith('  20251212T031300Z-pid449948')), 20_000, 'the first frame');
    // After several refreshes the frame is still at the top, once: redrawn in place, not scrolled.
    await new Promise((r) => setTimeout(r, 1000));
    const later = screen();
    expect(later.filter((l) => l.startsWith('headroom status — ')).length).toBe(1);
    expect(later[0]).toMatch(/^headroom status — \S+ — /);
    expect(later.indexOf('TOP PROCESS TREES (13 processes)')).toBe(first.indexOf('TOP PROCESS TREES (13 processes)'));
    // Growth between frames of the same (fixture) tree: no change over the interval.
    expect(later.find((l) => l.startsWith('     300 '))).toMatch(/ 0 B\/\d+ ms /);
    tmux('send-keys', '-t', SESSION, 'C-c');
    // A separate command line: an interactive shell may drop the rest of a list after Ctrl-C.
    tmux('send-keys', '-t', SESSION, 'echo WATCH-EXIT=$?', 'Enter');
    const done = await waitFor((l) => l.some((x) => /^(# )?WATCH-EXIT=\d+$/.test(x)), 10_000, 'the watch to stop');
    expect(done.find((l) => /^(# )?WATCH-EXIT=\d+$/.test(l))).toMatch(/WATCH-EXIT=0$/);
  });
});
