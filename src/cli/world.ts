import type { Logger } from '../logging/logger.js';

/**
 * What a command may touch of the outside world. Only cli/main.ts builds the real one; tests build their own.
 */
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
}
