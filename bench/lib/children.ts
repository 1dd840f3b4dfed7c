import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { statTimes } from './proc.js';

const HELPER = fileURLToPath(new URL('./idle_children.py', import.meta.url));

/** Waits for a child to exit, up to timeoutMs; true when it exited. */
export async function waitExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return true;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([once(child, 'exit').then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Sends a signal to a process we started, by its PID; false when it had already exited. */
export function signalChild(child: ChildProcess, signal: NodeJS.Signals): boolean {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return false;
  return child.kill(signal);
}

/** Stops a child we started: SIGTERM by PID, then SIGKILL by PID after graceMs. */
export async function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (!signalChild(child, 'SIGTERM')) return;
  if (await waitExit(child, graceMs)) return;
  signalChild(child, 'SIGKILL');
  if (!(await waitExit(child, 5000))) throw new Error(`process ${child.pid} did not exit after SIGKILL`);
}

export interface IdleChildrenResult {
  /** Children still present after cleanup (same PID and start time, zombies included); 0 unless something went wrong. */
  readonly survivors: number;
  readonly helperReport: string;
}

/**
 * N idle processes: bench/lib/idle_children.py forks them (python3 children that pause, like DataLoader
 * workers) and records their PIDs. Stopping closes its stdin; it SIGKILLs exactly those PIDs and reaps them.
 * The benchmark then checks every recorded PID (with its start time, as PIDs are reused) is gone.
 */
export class IdleChildren {
  private readonly pids: number[] = [];
  private readonly startTicks = new Map<number, number>();
  private lastLine = '';
  private stopped = false;

  private constructor(private readonly helper: ChildProcess) {}

  get count(): number {
    return this.pids.length;
  }

  get helperPid(): number | undefined {
    return this.helper.pid;
  }

  static async start(n: number, python: string, timeoutMs: number, onSpawn: (idle: IdleChildren) => void): Promise<IdleChildren> {
    const helper = spawn(python, [HELPER, String(n)], { stdio: ['pipe', 'pipe', 'inherit'] });
    const idle = new IdleChildren(helper);
    onSpawn(idle);
    const lines = createInterface({ input: helper.stdout as NodeJS.ReadableStream });
    const ready = new Promise<void>((resolve, reject) => {
      lines.on('line', (line) => {
        idle.lastLine = line;
        const pid = /^pid (\d+)$/.exec(line)?.[1];
        if (pid !== undefined) idle.pids.push(Number(pid));
        else if (/^ready \d+$/.test(line)) resolve();
      });
      helper.once('error', reject);
      helper.once('exit', (code, signal) => reject(new Error(`idle-process helper exited early (code ${code}, signal ${signal}) after ${idle.pids.length} children`)));
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`idle-process helper not ready after ${timeoutMs} ms (${idle.pids.length}/${n} children)`)), timeoutMs);
    });
    try {
      await Promise.race([ready, timeout]);
    } catch (error) {
      await idle.stop();
      throw error;
    } finally {
      clearTimeout(timer);
    }
    if (idle.pids.length !== n) {
      await idle.stop();
      throw new Error(`idle-process helper started ${idle.pids.length} children, wanted ${n}`);
    }
    for (const pid of idle.pids) {
      const t = statTimes(pid);
      if (t === undefined) {
        await idle.stop();
        throw new Error(`idle child ${pid} exited right after starting`);
      }
      idle.startTicks.set(pid, t.startTicks);
    }
    return idle;
  }

  /** Our children that still exist (zombies included): same PID and same start time as when started. */
  remaining(): number[] {
    return this.pids.filter((pid) => {
      const t = statTimes(pid);
      return t !== undefined && t.startTicks === this.startTicks.get(pid);
    });
  }

  /**
   * Stops the helper (EOF on stdin; SIGTERM then SIGKILL by its PID if it does not exit), then SIGKILLs by PID
   * any recorded child still alive with its recorded start time. Idempotent.
   */
  async stop(): Promise<IdleChildrenResult> {
    if (!this.stopped) {
      this.stopped = true;
      this.helper.stdin?.end();
      if (!(await waitExit(this.helper, 60_000))) await stopChild(this.helper, 10_000);
    }
    let survivors = this.remaining();
    for (const pid of survivors) if (statTimes(pid)?.state !== 'Z') process.kill(pid, 'SIGKILL');
    if (survivors.length > 0) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      survivors = this.remaining();
    }
    return { survivors: survivors.length, helperReport: this.lastLine };
  }
}
