import { spawn, type ChildProcess } from 'node:child_process';

/**
 * The busy neighbour of `npm run bench:receiver -- --busy-neighbour`: one child process that keeps one core
 * busy (a tight loop) for at most `seconds`, then exits by itself. The benchmark stops it by its PID when the
 * run ends (stopChild); it never outlives the run by more than its own bound.
 */
export function startSpinner(seconds: number): ChildProcess {
  const bounded = Math.min(Math.max(1, Math.round(seconds)), 600);
  return spawn(process.execPath, ['-e', `const end = Date.now() + ${bounded * 1000}; let x = 0; while (Date.now() < end) x = (x + 1) % 1e9;`], { stdio: 'ignore' });
}
