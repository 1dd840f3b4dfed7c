import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { errorMessage } from '../logging/logger.js';

export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A child process the stack started: stopped by its own PID only, never by name. */
export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** Resolves when the process has exited (for any reason). */
  readonly exited: Promise<ExitStatus>;
  hasExited(): boolean;
  /** SIGTERM, then SIGKILL after graceMs; resolves once the process is gone. */
  stop(graceMs?: number): Promise<ExitStatus>;
}

/** Starts `command args`, its stdout and stderr appended to logFile. Rejects if it cannot be started. */
export async function startProcess(name: string, command: string, args: readonly string[], logFile: string): Promise<ManagedProcess> {
  const fd = openSync(logFile, 'a');
  let child;
  try {
    child = spawn(command, [...args], { stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
  const c = child;
  await new Promise<void>((resolve, reject) => {
    c.once('spawn', resolve);
    c.once('error', (error) => reject(new Error(`${name}: cannot start ${command}: ${error.message}`)));
  });
  const pid = c.pid;
  if (pid === undefined) throw new Error(`${name}: ${command} started without a PID`);
  let done = false;
  const exited = new Promise<ExitStatus>((resolve) => {
    c.once('exit', (code, signal) => {
      done = true;
      resolve({ code, signal });
    });
  });
  const stop = async (graceMs = 10_000): Promise<ExitStatus> => {
    if (done) return exited;
    c.kill('SIGTERM');
    const graceful = await Promise.race([exited, sleep(graceMs).then(() => undefined)]);
    if (graceful) return graceful;
    if (!done) c.kill('SIGKILL');
    const killed = await Promise.race([exited, sleep(5_000).then(() => undefined)]);
    if (!killed) throw new Error(`${name} (pid ${pid}) did not exit after SIGKILL`);
    return killed;
  };
  return { name, pid, logFile, exited, hasExited: () => done, stop };
}

export interface PollOptions {
  readonly timeoutMs: number;
  readonly intervalMs: number;
  readonly what: string;
  /** Stop early (with this error) when it returns a message, e.g. "the process exited". */
  readonly abort?: () => string | undefined;
}

/** Polls `check` until it returns a value other than undefined; bounded in attempts and time. */
export async function pollUntil<T>(check: () => Promise<T | undefined>, opts: PollOptions): Promise<T> {
  const attempts = Math.max(1, Math.ceil(opts.timeoutMs / opts.intervalMs));
  const deadline = Date.now() + opts.timeoutMs;
  let last = 'not checked yet';
  for (let i = 0; i < attempts && Date.now() <= deadline; i += 1) {
    const aborted = opts.abort?.();
    if (aborted !== undefined) throw new Error(`${opts.what}: ${aborted}`);
    try {
      const value = await check();
      if (value !== undefined) return value;
      last = 'not ready';
    } catch (error) {
      last = errorMessage(error);
    }
    await sleep(opts.intervalMs);
  }
  throw new Error(`${opts.what}: gave up after ${opts.timeoutMs} ms (${last})`);
}

/** GET url; the body when the status is 2xx, undefined otherwise. Times out after timeoutMs. */
export async function httpGet(url: string, timeoutMs = 2_000): Promise<string | undefined> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  const body = await res.text();
  return res.ok ? body : undefined;
}
