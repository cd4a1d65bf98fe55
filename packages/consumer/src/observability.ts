import type { CircuitState } from './circuit-breaker.ts';

/**
 * What the runtime reports besides logs: `@cads/http` provides a Prometheus implementation of
 * `ConsumerMetrics`; the default is a no-op.
 */
export type HandlerOutcome = 'handled' | 'duplicate' | 'retried' | 'dead_lettered';

export interface ConsumerMetrics {
  /** One delivery finished: how, and how long the handler transaction took. */
  delivery(consumer: string, type: string, outcome: HandlerOutcome, seconds: number): void;
  /** The relay published `count` outbox messages; `oldestAgeSeconds` is the oldest one's age. */
  published(source: string, count: number, oldestAgeSeconds: number): void;
  /** The consumer's circuit breaker changed state (it opens while a dependency is down). */
  circuit(consumer: string, state: CircuitState): void;
}

/**
 * Read at scrape time (gauges): messages waiting for a consumer group, outbox backlog, dead
 * letters stored.
 */
export interface ConsumerStats {
  readonly consumer: string;
  /**
   * Messages of the consumer's types its group has not settled yet, as the broker counts them
   * (`Broker.pending`): waiting, in flight or waiting for a retry. Approximate under load.
   */
  readonly lag: number;
  readonly deadLetters: number;
  readonly outboxPending: number;
  readonly outboxOldestAgeSeconds: number;
}

export const noMetrics: ConsumerMetrics = {
  delivery: () => undefined,
  published: () => undefined,
  circuit: () => undefined,
};
