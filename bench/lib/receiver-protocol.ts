/** Messages between bench/receiver.ts and its two children (bench/lib/receiver-server.ts, receiver-load.ts). */

export const BENCH_TOKEN = 'bench-token';

/** From the receiver process. */
export type ServerMessage =
  | { readonly type: 'ready'; readonly port: number }
  | { readonly type: 'depth'; readonly depth: number }
  | { readonly type: 'drained'; readonly drainSeconds: number; readonly notifications: number; readonly heapUsedBytes: number };

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
  readonly latencyMs: { readonly p50: number; readonly p90: number; readonly p99: number; readonly max: number };
  /** How late the client itself sent requests (ms behind schedule, max): large values mean the client lagged. */
  readonly maxSendLagMs: number;
}
