import type { Logger } from '../logging/logger.js';
import type { HostFacts } from './host.js';

/** Clocks and timers, injected everywhere below the composition root (tests pass fakes). */
export interface Clock {
  /** Wall clock. */
  readonly now: () => Date;
  /** Monotonic clock in seconds. */
  readonly monotonic: () => number;
  /** Resolves after `ms` milliseconds (earlier, without error, when the signal aborts). */
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** Signals, file writes and priority changes: what acting on the machine needs from the operating system. */
export interface SystemCalls {
  /** process.kill in production: a signal to one PID. */
  readonly kill: (pid: number, signal: 'SIGTERM' | 'SIGKILL') => void;
  /** Writes a (kernel control) file. */
  readonly writeFile: (path: string, text: string) => void;
  /** os.setPriority in production. */
  readonly setPriority: (pid: number, priority: number) => void;
}

/**
 * What a command may touch of the outside world: streams, environment, clocks, the stop signal. Only
 * cli/main.ts builds the real one; tests build their own. Signals, timers and file writes for acting on the
 * machine are wired by the agent's composition root (src/agent/agent.ts) and passed down as Clock and
 * SystemCalls.
 */
/** Real timers, injected by the composition root (src/agent/system.ts): each returns its own cancel. */
export interface Timers {
  /** Calls fn every ms until cancelled. */
  every(ms: number, fn: () => void): () => void;
  /** Calls fn once after ms unless cancelled. */
  after(ms: number, fn: () => void): () => void;
}

export interface World {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly env: NodeJS.ProcessEnv;
  readonly logger: Logger;
  /** Wall clock. */
  readonly now: () => Date;
  /** Monotonic clock in seconds. */
  readonly monotonic: () => number;
  /** The running agent's own PID (never a remediation target). */
  readonly pid: number;
  readonly ppid: number;
  readonly version: string;
  /** Resolves when SIGINT or SIGTERM arrives. */
  readonly stopSignal: Promise<NodeJS.Signals>;
  /** Host facts, read once at agent start (systeminformation when absent; tests inject their own). */
  readonly hostFacts?: () => Promise<HostFacts>;
}
