/**
 * What the benchmark process and its client workers say to each other over IPC. Times are
 * milliseconds of `CLOCK_MONOTONIC` (`monotonicMs`), which every process of the machine shares,
 * so a worker subtracts the publisher's timestamp from its own receive time directly.
 */

export type Transport = 'sse' | 'ws';

/** `count` connections of one browser (its session cookie) watching one order. */
export interface ConnectionGroup {
  readonly orderId: string;
  readonly cookie: string;
  readonly count: number;
}

export type WorkerCommand =
  | {
      readonly kind: 'open';
      readonly transport: Transport;
      readonly bffUrl: string;
      readonly groups: readonly ConnectionGroup[];
      /** Connections being opened at once by this worker. */
      readonly concurrency: number;
      /** A connection without its snapshot after this long counts as failed. */
      readonly timeoutMs: number;
    }
  /** Answer `reached` once every open connection has received `count` saga events. */
  | { readonly kind: 'expect'; readonly count: number }
  /** Send the latencies recorded since the last `collect`, and forget them. */
  | { readonly kind: 'collect' }
  /** Close every connection (the worker stays, ready for another `open`). */
  | { readonly kind: 'close' };

export type WorkerReport =
  | {
      readonly kind: 'opened';
      readonly opened: number;
      readonly failed: number;
      /** The first failure, to tell what went wrong. */
      readonly firstError: string | undefined;
    }
  | { readonly kind: 'reached' }
  | {
      readonly kind: 'collected';
      /** Publish → receipt of each measured saga event, per connection that got it. */
      readonly latenciesMs: readonly number[];
      /** Saga events received, measured or not. */
      readonly received: number;
      /** Open connections. */
      readonly connections: number;
      /** Connections that closed on their own since they opened. */
      readonly droppedConnections: number;
    }
  | { readonly kind: 'closed' };

/**
 * What the benchmark adds to a saga event's data (the BFF passes data through untouched):
 * when it was published, and whether it counts (warm-up events do not).
 */
export interface BenchStamp {
  readonly benchSentAtMs: number;
  readonly benchMeasured: boolean;
}

/** Milliseconds of the system-wide monotonic clock (comparable between processes). */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
