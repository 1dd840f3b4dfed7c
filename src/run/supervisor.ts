import type { JobBackend } from './backends/backend.js';
import { errorMessage } from '../logging/logger.js';

/** How the job's main process ended. */
export interface JobExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Set when the process could not be started at all (spawn failed). */
  readonly error?: Error;
}

export interface SpawnedJob {
  readonly pid: number | undefined;
  readonly exited: Promise<JobExit>;
}

/** The process operations the supervisor needs; the CLI wires the real ones (child_process, process.kill). */
export interface ProcessControl {
  /** Starts argv with stdin/stdout/stderr inherited, in its own session (see commands/run.ts). */
  spawn(argv: readonly string[]): SpawnedJob;
  /** Sends a signal to one PID; throws the Node error (ESRCH when it is gone). */
  kill(pid: number, signal: NodeJS.Signals): void;
}

/** Signals sent to headroom itself (Ctrl-C, SIGTERM, SIGHUP). Returns an unsubscribe function. */
export type SignalSource = (handler: (signal: NodeJS.Signals) => void) => () => void;

export interface SuperviseInput {
  readonly backend: JobBackend;
  readonly argv: readonly string[];
  readonly control: ProcessControl;
  readonly signals: SignalSource;
  readonly timeoutMs: number | undefined;
  readonly graceMs: number;
  readonly sampleMs: number;
  readonly monotonicMs: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  /** Called every sampleMs while the job runs, and once more after it exits (before cleanup). */
  readonly onTick: (elapsedMs: number) => void;
  /** Progress/status lines for people (stderr). */
  readonly say: (line: string) => void;
}

export type StopCause =
  | { readonly kind: 'timeout'; readonly atMs: number }
  | { readonly kind: 'signal'; readonly signal: NodeJS.Signals; readonly atMs: number };

export interface SuperviseResult {
  readonly exit: JobExit;
  readonly pid: number | undefined;
  readonly durationMs: number;
  readonly stop?: StopCause;
  /** SIGKILL had to be sent because the job outlived the grace period. */
  readonly sigkilled: boolean;
  /** Processes still in the cgroup after the main process exited, which headroom then stopped. */
  readonly leftovers: number;
  /** Problems while cleaning up (e.g. the cgroup could not be removed). Empty when clean. */
  readonly cleanupProblems: string[];
}

/** Upper bound on the wait for a SIGKILLed cgroup to empty (processes in D state take a moment). */
const DRAIN_AFTER_KILL_MS = 5000;
const POLL_MS = 100;

function isGone(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && error.code === 'ESRCH';
}

/**
 * Runs one job to the end: spawn the wrapped argv, sample every sampleMs, enforce the timeout (SIGTERM to every
 * process of the job, grace, SIGKILL), forward SIGINT/SIGTERM/SIGHUP to every process of the job (and, after
 * the grace period, SIGKILL them), then make sure nothing of the job remains: leftover processes are
 * stopped the same way and the cgroup is removed.
 *
 * The main loop runs once per sampleMs until the job's main process exits; that is as long as the job runs,
 * and with a timeout at most timeout + grace + one tick. The cleanup loops are bounded by grace + 5 s.
 */
export async function supervise(input: SuperviseInput): Promise<SuperviseResult> {
  const { backend, control } = input;
  const start = input.monotonicMs();
  const elapsed = (): number => input.monotonicMs() - start;
  const job = control.spawn(input.argv);
  let exit: JobExit | undefined;
  const exitPromise = job.exited.then((e) => {
    exit = e;
    return e;
  });

  /** Every process of the job: the cgroup's members plus the main PID (before it has joined the cgroup). */
  const signalAll = (signal: NodeJS.Signals): number => {
    const pids = new Set(backend.pids());
    if (job.pid !== undefined && exit === undefined) pids.add(job.pid);
    let sent = 0;
    for (const pid of pids) {
      try {
        control.kill(pid, signal);
        sent += 1;
      } catch (error) {
        if (!isGone(error)) throw error;
      }
    }
    return sent;
  };

  let stop: StopCause | undefined;
  let graceDeadline: number | undefined;
  let sigkilled = false;
  const unsubscribe = input.signals((signal) => {
    if (exit !== undefined) return;
    if (stop === undefined) {
      stop = { kind: 'signal', signal, atMs: elapsed() };
      graceDeadline = elapsed() + input.graceMs;
    }
    signalAll(signal);
  });

  try {
    let nextSample = 0;
    while (exit === undefined) {
      const now = elapsed();
      if (input.timeoutMs !== undefined && stop === undefined && now >= input.timeoutMs) {
        stop = { kind: 'timeout', atMs: now };
        graceDeadline = now + input.graceMs;
        input.say(`timeout of ${Math.round(input.timeoutMs / 1000)} s reached: sending SIGTERM to every process of the job`);
        signalAll('SIGTERM');
      }
      if (graceDeadline !== undefined && !sigkilled && now >= graceDeadline) {
        sigkilled = true;
        input.say(`the job did not stop within the ${Math.round(input.graceMs / 1000)} s grace period: sending SIGKILL`);
        signalAll('SIGKILL');
      }
      if (now >= nextSample) {
        input.onTick(now);
        nextSample = now + input.sampleMs;
      }
      const deadlines = [nextSample, input.timeoutMs !== undefined && stop === undefined ? input.timeoutMs : Infinity];
      if (graceDeadline !== undefined && !sigkilled) deadlines.push(graceDeadline);
      const wait = Math.max(1, Math.min(...deadlines) - elapsed());
      await Promise.race([exitPromise, input.sleep(wait)]);
    }
  } finally {
    unsubscribe();
  }
  const finalExit = await exitPromise;
  const durationMs = elapsed();
  input.onTick(durationMs);

  // Nothing of the job may outlive it: children that escaped the main process (daemons, pool workers).
  const cleanupProblems: string[] = [];
  const leftovers = backend.pids().length;
  if (leftovers > 0) {
    input.say(`${leftovers} process(es) of the job still running after it exited: stopping them`);
    signalAll('SIGTERM');
    const termDeadline = elapsed() + input.graceMs;
    while (backend.pids().length > 0 && elapsed() < termDeadline) await input.sleep(POLL_MS);
    if (backend.pids().length > 0) {
      sigkilled = true;
      signalAll('SIGKILL');
    }
  }
  const drainDeadline = elapsed() + DRAIN_AFTER_KILL_MS;
  while (backend.pids().length > 0 && elapsed() < drainDeadline) await input.sleep(POLL_MS);
  const remaining = backend.pids();
  if (remaining.length > 0) cleanupProblems.push(`processes ${remaining.join(', ')} are still in ${backend.location}`);
  else {
    // rmdir can briefly fail with EBUSY right after the last exit; a few bounded retries.
    for (let attempt = 0; ; attempt++) {
      try {
        backend.remove();
        break;
      } catch (error) {
        if (attempt >= 20) {
          cleanupProblems.push(`cannot remove ${backend.location}: ${errorMessage(error)}`);
          break;
        }
        await input.sleep(POLL_MS);
      }
    }
  }
  return { exit: finalExit, pid: job.pid, durationMs, stop, sigkilled, leftovers, cleanupProblems };
}
