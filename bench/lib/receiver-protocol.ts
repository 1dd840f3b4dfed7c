/** Messages between bench/receiver.ts and its two children (bench/lib/receiver-server.ts, receiver-load.ts). */

export const BENCH_TOKEN = 'bench-token';

/** From the receiver process. */
export type ServerMessage =
  /** `hardened`: the steps guard.harden_self took at start (src/guard/harden.ts), e.g. "nice -5". */
  | { readonly type: 'ready'; readonly port: number; readonly hardened: readonly string[] }
  | { readonly type: 'depth'; readonly depth: number }
  | {
      readonly type: 'drained';
      readonly drainSeconds: number;
      readonly notifications: number;
      readonly heapUsedBytes: number;
      /** Server side, per request: from the handler being called (headers parsed) to the reply written ('finish'), ms. */
      readonly handlerMs: Percentiles;
      /** Event-loop delay over the load (perf_hooks.monitorEventLoopDelay, 1 ms resolution), ms. */
      readonly loopDelayMs: Percentiles;
      /** Garbage collections during the load: count, total and longest pause, ms. */
      readonly gc: { readonly count: number; readonly totalMs: number; readonly maxMs: number };
    };

/** Milliseconds: p50, p90, p99, max. */
export interface Percentiles {
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

/** To the receiver process. */
export type ServerCommand = { readonly type: 'drain' } | { readonly type: 'close' };

/** To the load client. */
export interface LoadCommand {
  readonly type: 'start';
  readonly port: number;
  readonly rate: number;
  readonly seconds: number;
  readonly token: string;
}

/** From the load client. */
export interface LoadResult {
  readonly type: 'done';
  readonly requests: number;
  readonly sendSeconds: number;
  readonly errors: number;
  readonly statuses: Readonly<Record<string, number>>;
  /** Milliseconds: p50, p90, p99, max. */
  readonly latencyMs: Percentiles;
  /** How late the client itself sent requests (ms behind schedule, max): large values mean the client lagged. */
  readonly maxSendLagMs: number;
}
