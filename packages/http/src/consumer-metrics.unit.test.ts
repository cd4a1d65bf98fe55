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
    metrics.delivery('billing', 'invoice_issued', 'handled', 0.004);
    metrics.delivery('billing', 'invoice_issued', 'handled', 0.2);
    metrics.delivery('billing', 'invoice_issued', 'retried', 0.01);
    metrics.delivery('billing', 'invoice_issued', 'dead_lettered', 0.01);
    metrics.delivery('billing', 'invoice_issued', 'duplicate', 0.001);
    metrics.published('billing', 3, 0.25);
    metrics.published('billing', 2, 0.5);

    const text = await registry.metrics();
    const labels = 'consumer="billing",type="invoice_issued"';
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
    expect(sample(text, 'cads_outbox_published_total{source="billing"}')).toBe(5);
    expect(sample(text, 'cads_outbox_published_oldest_age_seconds{source="billing"}')).toBe(0.5);
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
      stats('billing', {
        lag: 12,
        deadLetters: 2,
        outboxPending: 7,
        outboxOldestAgeSeconds: 1.5,
      }),
      stats('shipping'),
    ];
    registerConsumerStats(registry, () => {
      reads += 1;
      return Promise.resolve(current);
    });

    const first = await registry.metrics();
    expect(reads).toBe(1);
    expect(sample(first, 'cads_consumer_lag_messages{consumer="billing"}')).toBe(12);
    expect(sample(first, 'cads_consumer_lag_messages{consumer="shipping"}')).toBe(0);
    expect(sample(first, 'cads_consumer_dead_letters{consumer="billing"}')).toBe(2);
    expect(sample(first, 'cads_outbox_pending_messages{consumer="billing"}')).toBe(7);
    expect(sample(first, 'cads_outbox_oldest_pending_age_seconds{consumer="billing"}')).toBe(1.5);
    expect(sample(first, 'cads_consumer_dead_letters{consumer="shipping"}')).toBe(0);

    current = [stats('billing', { lag: 4, deadLetters: 3 })];
    const second = await registry.metrics();
    expect(reads).toBe(2);
    expect(sample(second, 'cads_consumer_lag_messages{consumer="billing"}')).toBe(4);
    expect(sample(second, 'cads_consumer_dead_letters{consumer="billing"}')).toBe(3);
    expect(sample(second, 'cads_consumer_dead_letters{consumer="shipping"}')).toBeUndefined();
    expect(sample(second, 'cads_consumer_lag_messages{consumer="shipping"}')).toBeUndefined();
  });

  it('omits its series and counts the failure when the read fails, without failing the scrape', async () => {
    const registry = new Registry();
    const logged: string[] = [];
    let fail = false;
    registerConsumerStats(
      registry,
      () => {
        if (fail) throw new Error('database gone');
        return Promise.resolve([stats('billing', { deadLetters: 1 })]);
      },
      { log: pino({}, { write: (line: string) => logged.push(line) }) },
    );
    expect(sample(await registry.metrics(), 'cads_consumer_dead_letters{consumer="billing"}')).toBe(
      1,
    );

    fail = true;
    const text = await registry.metrics();
    expect(sample(text, 'cads_consumer_dead_letters{consumer="billing"}')).toBeUndefined();
    expect(sample(text, 'cads_consumer_stats_read_failures_total')).toBe(1);
    expect(logged.join('')).toContain('database gone');

    fail = false;
    const recovered = await registry.metrics();
    expect(sample(recovered, 'cads_consumer_dead_letters{consumer="billing"}')).toBe(1);
  });
});

describe('GET /metrics with consumer metrics', () => {
  let app: HttpApp | undefined;
  afterEach(async () => {
    await app?.close();
  });

  it('exposes the cads_* consumer series once they are used', async () => {
    const registry = createMetricsRegistry({ service: 'ledger' });
    const metrics = createConsumerMetrics(registry);
    registerConsumerStats(registry, () =>
      Promise.resolve([stats('ledger', { lag: 9, outboxPending: 4 })]),
    );
    app = await createHttpApp({
      service: 'ledger',
      version: '1.0.0',
      metrics: registry,
      logger: pino({ level: 'silent' }),
    });
    metrics.delivery('ledger', 'parcel_shipped', 'handled', 0.02);
    metrics.published('ledger', 1, 0.1);

    const response = await app.inject({ url: '/metrics' });
    expect(response.statusCode).toBe(200);
    const text = response.body;
    expect(
      sample(
        text,
        'cads_consumer_handler_seconds_count{service="ledger",consumer="ledger",type="parcel_shipped",outcome="handled"}',
      ),
    ).toBe(1);
    expect(sample(text, 'cads_outbox_published_total{service="ledger",source="ledger"}')).toBe(1);
    expect(sample(text, 'cads_outbox_pending_messages{service="ledger",consumer="ledger"}')).toBe(
      4,
    );
    expect(sample(text, 'cads_consumer_lag_messages{service="ledger",consumer="ledger"}')).toBe(9);
  });
});
