/**
 * What the runtime reports. A pino logger satisfies `Logger`; `@cads/http` provides a
 * Prometheus implementation of `ConsumerMetrics`. Both default to no-ops.
 */
export interface Logger {
  debug(fields: object, message?: string): void;
  info(fields: object, message?: string): void;
  warn(fields: object, message?: string): void;
  error(fields: object, message?: string): void;
}

export type HandlerOutcome = 'handled' | 'duplicate' | 'retried' | 'dead_lettered';

export interface ConsumerMetrics {
  /** One delivery finished: how, and how long the handler transaction took. */
  delivery(consumer: string, type: string, outcome: HandlerOutcome, seconds: number): void;
  /** The relay published `count` outbox messages; `oldestAgeSeconds` is the oldest one's age. */
  published(source: string, count: number, oldestAgeSeconds: number): void;
}

/**
 * Read at scrape time (gauges): messages waiting for a consumer group, outbox backlog, dead
 * letters stored.
 */
export interface ConsumerStats {
  readonly consumer: string;
  readonly deadLetters: number;
  readonly outboxPending: number;
  readonly outboxOldestAgeSeconds: number;
}

export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

export const noMetrics: ConsumerMetrics = {
  delivery: () => undefined,
  published: () => undefined,
};
