import type { ConsumerStats } from '@cads/consumer';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createConsumerMetrics, registerConsumerStats } from './consumer-metrics.ts';
import { createHttpApp, type HttpApp } from './http-app.ts';
import { createMetricsRegistry } from './metrics.ts';

/**
 * The value of the sample `name{labels}` in Prometheus text, whatever the label order, e.g.
 * `sample(text, 'cads_x{consumer="a"}')`; undefined when absent.
 */
function sample(text: string, series: string): number | undefined {
  const parse = (s: string) => {
    const match = /^([^{\s]+)(?:\{(.*)\})?$/.exec(s);
    const labels = (match?.[2] ?? '').split(',').filter(Boolean).sort().join(',');
    return `${match?.[1]}{${labels}}`;
  };
  const wanted = parse(series);
  for (const line of text.split('\n')) {
    const space = line.lastIndexOf(' ');
    if (!line.startsWith('#') && space > 0 && parse(line.slice(0, space)) === wanted) {
      return Number(line.slice(space + 1));
    }
  }
  return undefined;
}

function stats(consumer: string, overrides: Partial<ConsumerStats> = {}): ConsumerStats {
  return {
    consumer,
    lag: 0,
    deadLetters: 0,
    outboxPending: 0,
    outboxOldestAgeSeconds: 0,
    ...overrides,
  };
}

describe('createConsumerMetrics', () => {
  it('records deliveries by outcome, retries, dead letters and publishing', async () => {
    const registry = new Registry();
    const metrics = createConsumerMetrics(registry);
    metrics.delivery('restaurant', 'order_created', 'handled', 0.004);
    metrics.delivery('restaurant', 'order_created', 'handled', 0.2);
    metrics.delivery('restaurant', 'order_created', 'retried', 0.01);
    metrics.delivery('restaurant', 'order_created', 'dead_lettered', 0.01);
    metrics.delivery('restaurant', 'order_created', 'duplicate', 0.001);
    metrics.published('restaurant', 3, 0.25);
    metrics.published('restaurant', 2, 0.5);

    const text = await registry.metrics();
    const labels = 'consumer="restaurant",type="order_created"';
    expect(sample(text, `cads_consumer_handler_seconds_count{${labels},outcome="handled"}`)).toBe(
      2,
    );
    expect(
      sample(text, `cads_consumer_handler_seconds_bucket{le="0.005",${labels},outcome="handled"}`),
    ).toBe(1);
    expect(sample(text, `cads_consumer_handler_seconds_count{${labels},outcome="duplicate"}`)).toBe(
      1,
    );
    expect(sample(text, `cads_consumer_retries_total{${labels}}`)).toBe(1);
    expect(sample(text, `cads_consumer_dead_letters_total{${labels}}`)).toBe(1);
    expect(sample(text, 'cads_outbox_published_total{source="restaurant"}')).toBe(5);
    expect(sample(text, 'cads_outbox_published_oldest_age_seconds{source="restaurant"}')).toBe(0.5);
  });

  it('can be created twice on one registry, sharing the series', async () => {
    const registry = new Registry();
    createConsumerMetrics(registry).delivery('a', 't', 'retried', 0.1);
    createConsumerMetrics(registry).delivery('a', 't', 'retried', 0.1);
    expect(
      sample(await registry.metrics(), 'cads_consumer_retries_total{consumer="a",type="t"}'),
    ).toBe(2);
  });
});

describe('registerConsumerStats', () => {
  it('reads once per scrape and replaces the previous samples', async () => {
    const registry = new Registry();
    let reads = 0;
    let current: ConsumerStats[] = [
      stats('restaurant', {
        lag: 12,
        deadLetters: 2,
        outboxPending: 7,
        outboxOldestAgeSeconds: 1.5,
      }),
      stats('rider'),
    ];
    registerConsumerStats(registry, () => {
      reads += 1;
      return Promise.resolve(current);
    });

    const first = await registry.metrics();
    expect(reads).toBe(1);
    expect(sample(first, 'cads_consumer_lag_messages{consumer="restaurant"}')).toBe(12);
    expect(sample(first, 'cads_consumer_lag_messages{consumer="rider"}')).toBe(0);
    expect(sample(first, 'cads_consumer_dead_letters{consumer="restaurant"}')).toBe(2);
    expect(sample(first, 'cads_outbox_pending_messages{consumer="restaurant"}')).toBe(7);
    expect(sample(first, 'cads_outbox_oldest_pending_age_seconds{consumer="restaurant"}')).toBe(
      1.5,
    );
    expect(sample(first, 'cads_consumer_dead_letters{consumer="rider"}')).toBe(0);

    current = [stats('restaurant', { lag: 4, deadLetters: 3 })];
    const second = await registry.metrics();
    expect(reads).toBe(2);
    expect(sample(second, 'cads_consumer_lag_messages{consumer="restaurant"}')).toBe(4);
    expect(sample(second, 'cads_consumer_dead_letters{consumer="restaurant"}')).toBe(3);
    expect(sample(second, 'cads_consumer_dead_letters{consumer="rider"}')).toBeUndefined();
    expect(sample(second, 'cads_consumer_lag_messages{consumer="rider"}')).toBeUndefined();
  });

  it('omits its series and counts the failure when the read fails, without failing the scrape', async () => {
    const registry = new Registry();
    const logged: string[] = [];
    let fail = false;
    registerConsumerStats(
      registry,
      () => {
        if (fail) throw new Error('database gone');
        return Promise.resolve([stats('restaurant', { deadLetters: 1 })]);
      },
      { log: pino({}, { write: (line: string) => logged.push(line) }) },
    );
    expect(
      sample(await registry.metrics(), 'cads_consumer_dead_letters{consumer="restaurant"}'),
    ).toBe(1);

    fail = true;
    const text = await registry.metrics();
    expect(sample(text, 'cads_consumer_dead_letters{consumer="restaurant"}')).toBeUndefined();
    expect(sample(text, 'cads_consumer_stats_read_failures_total')).toBe(1);
    expect(logged.join('')).toContain('database gone');

    fail = false;
    const recovered = await registry.metrics();
    expect(sample(recovered, 'cads_consumer_dead_letters{consumer="restaurant"}')).toBe(1);
  });
});

describe('GET /metrics with consumer metrics', () => {
  let app: HttpApp | undefined;
  afterEach(async () => {
    await app?.close();
  });

  it('exposes the cads_* consumer series once they are used', async () => {
    const registry = createMetricsRegistry({ service: 'payment' });
    const metrics = createConsumerMetrics(registry);
    registerConsumerStats(registry, () =>
      Promise.resolve([stats('payment', { lag: 9, outboxPending: 4 })]),
    );
    app = await createHttpApp({
      service: 'payment',
      version: '1.0.0',
      metrics: registry,
      logger: pino({ level: 'silent' }),
    });
    metrics.delivery('payment', 'rider_assigned', 'handled', 0.02);
    metrics.published('payment', 1, 0.1);

    const response = await app.inject({ url: '/metrics' });
    expect(response.statusCode).toBe(200);
    const text = response.body;
    expect(
      sample(
        text,
        'cads_consumer_handler_seconds_count{service="payment",consumer="payment",type="rider_assigned",outcome="handled"}',
      ),
    ).toBe(1);
    expect(sample(text, 'cads_outbox_published_total{service="payment",source="payment"}')).toBe(1);
    expect(sample(text, 'cads_outbox_pending_messages{service="payment",consumer="payment"}')).toBe(
      4,
    );
    expect(sample(text, 'cads_consumer_lag_messages{service="payment",consumer="payment"}')).toBe(
      9,
    );
  });
});
