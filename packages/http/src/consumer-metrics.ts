import type { ConsumerMetrics, ConsumerStats, HandlerOutcome } from '@cads/consumer';
import type { Logger } from '@cads/messaging';
import { Counter, Gauge, type Registry } from 'prom-client';
import { counterIn, gaugeIn, histogramIn, latencyBucketsSeconds } from './metrics.ts';

/**
 * Prometheus implementation of the consumer runtime's `ConsumerMetrics`, registered in
 * `registry`:
 * - `cads_consumer_handler_seconds{consumer,type,outcome}` histogram of every delivery;
 * - `cads_consumer_retries_total{consumer,type}` and
 *   `cads_consumer_dead_letters_total{consumer,type}` counters;
 * - `cads_consumer_circuit_open{consumer}` gauge (1 while the consumer's circuit breaker is
 *   open or probing: a dependency is down and handlers wait) and
 *   `cads_consumer_circuit_opened_total{consumer}` counter;
 * - `cads_outbox_published_total{source}` counter and
 *   `cads_outbox_published_oldest_age_seconds{source}` gauge (age of the oldest message of the
 *   last published batch: how far the relay lags behind commits).
 *
 * Calling it again with the same registry returns an implementation over the same series.
 * Recording never throws and does no I/O, so it cannot fail a delivery.
 */
export function createConsumerMetrics(registry: Registry): ConsumerMetrics {
  const handlerSeconds = histogramIn(registry, {
    name: 'cads_consumer_handler_seconds',
    help: 'Duration of a delivery handler transaction, by outcome.',
    labelNames: ['consumer', 'type', 'outcome'] as const,
    buckets: latencyBucketsSeconds,
  });
  const retries = counterIn(registry, {
    name: 'cads_consumer_retries_total',
    help: 'Deliveries that failed with a retryable error and were scheduled for redelivery.',
    labelNames: ['consumer', 'type'] as const,
  });
  const deadLetters = counterIn(registry, {
    name: 'cads_consumer_dead_letters_total',
    help: 'Deliveries moved to the dead-letter store.',
    labelNames: ['consumer', 'type'] as const,
  });
  const published = counterIn(registry, {
    name: 'cads_outbox_published_total',
    help: 'Outbox messages published to the broker by the relay.',
    labelNames: ['source'] as const,
  });
  const publishedAge = gaugeIn(registry, {
    name: 'cads_outbox_published_oldest_age_seconds',
    help: 'Age, when published, of the oldest message in the relay last batch.',
    labelNames: ['source'] as const,
  });
  const circuitOpen = gaugeIn(registry, {
    name: 'cads_consumer_circuit_open',
    help: 'Whether the consumer circuit breaker is open or probing (a dependency is down).',
    labelNames: ['consumer'] as const,
  });
  const circuitOpened = counterIn(registry, {
    name: 'cads_consumer_circuit_opened_total',
    help: 'Times the consumer circuit breaker opened.',
    labelNames: ['consumer'] as const,
  });
  const countedOutcomes: Partial<Record<HandlerOutcome, Counter<'consumer' | 'type'>>> = {
    retried: retries,
    dead_lettered: deadLetters,
  };

  return {
    delivery(consumer, type, outcome, seconds) {
      handlerSeconds.observe({ consumer, type, outcome }, seconds);
      countedOutcomes[outcome]?.inc({ consumer, type });
    },
    published(source, count, oldestAgeSeconds) {
      published.inc({ source }, count);
      publishedAge.set({ source }, oldestAgeSeconds);
    },
    circuit(consumer, state) {
      circuitOpen.set({ consumer }, state === 'closed' ? 0 : 1);
      if (state === 'open') circuitOpened.inc({ consumer });
    },
  };
}

export interface ScrapeOptions {
  /** Receives read failures; the scrape still succeeds, without the series of that read. */
  readonly log?: Logger;
}

/**
 * Calls `read` at most once per scrape, however many gauges need its result: prom-client
 * collects every metric of a scrape concurrently, so they share the in-flight read. A failed
 * read yields `undefined`, is logged, and counts in the `failuresMetric` counter, which joins
 * the read before reporting so a failure shows in the scrape it happened in.
 */
function readOncePerScrape<T>(
  registry: Registry,
  failuresMetric: string,
  read: () => Promise<T>,
  log: Logger | undefined,
): () => Promise<T | undefined> {
  let inFlight: Promise<T | undefined> | undefined;
  const shared = (): Promise<T | undefined> => {
    if (inFlight === undefined) {
      const current = readSafely();
      inFlight = current;
      // Cleared after settling, never synchronously, so the next scrape reads afresh.
      void current.finally(() => {
        if (inFlight === current) inFlight = undefined;
      });
    }
    return inFlight;
  };
  const failures = new Counter({
    name: failuresMetric,
    help: 'Scrape-time reads that failed; their series are omitted from that scrape.',
    registers: [registry],
    async collect() {
      await shared();
    },
  });
  const readSafely = async (): Promise<T | undefined> => {
    try {
      return await read();
    } catch (error) {
      failures.inc();
      log?.warn({ err: error, metric: failuresMetric }, 'metrics read failed');
      return undefined;
    }
  };
  return shared;
}

/**
 * A gauge whose samples are replaced at each scrape with `pick` applied to the shared read.
 * Samples are reset first, so a consumer that disappeared (or a failed read) leaves no stale
 * value behind.
 */
function scrapeGauge<T>(
  registry: Registry,
  name: string,
  help: string,
  read: () => Promise<readonly T[] | undefined>,
  pick: (row: T) => [consumer: string, value: number],
): void {
  new Gauge({
    name,
    help,
    labelNames: ['consumer'] as const,
    registers: [registry],
    async collect() {
      const rows = await read();
      this.reset();
      for (const row of rows ?? []) {
        const [consumer, value] = pick(row);
        this.set({ consumer }, value);
      }
    },
  });
}

/**
 * Registers gauges read at scrape time from `readStats` (one call per scrape):
 * `cads_consumer_lag_messages{consumer}` (messages the group has not settled, as its broker
 * counts them), `cads_consumer_dead_letters{consumer}` (dead letters stored),
 * `cads_outbox_pending_messages{consumer}` and `cads_outbox_oldest_pending_age_seconds{consumer}`.
 * If the read fails, that scrape omits these series (never reports stale values) and
 * `cads_consumer_stats_read_failures_total` grows. Register it once per registry; a second
 * registration throws.
 */
export function registerConsumerStats(
  registry: Registry,
  readStats: () => Promise<readonly ConsumerStats[]>,
  options: ScrapeOptions = {},
): void {
  const read = readOncePerScrape(
    registry,
    'cads_consumer_stats_read_failures_total',
    readStats,
    options.log,
  );
  scrapeGauge(
    registry,
    'cads_consumer_lag_messages',
    'Messages a consumer group has not settled yet (waiting, in flight or to be retried).',
    read,
    (s) => [s.consumer, s.lag],
  );
  scrapeGauge(registry, 'cads_consumer_dead_letters', 'Dead letters stored.', read, (s) => [
    s.consumer,
    s.deadLetters,
  ]);
  scrapeGauge(
    registry,
    'cads_outbox_pending_messages',
    'Outbox messages committed but not yet published.',
    read,
    (s) => [s.consumer, s.outboxPending],
  );
  scrapeGauge(
    registry,
    'cads_outbox_oldest_pending_age_seconds',
    'Age of the oldest outbox message not yet published (0 when none).',
    read,
    (s) => [s.consumer, s.outboxOldestAgeSeconds],
  );
}
