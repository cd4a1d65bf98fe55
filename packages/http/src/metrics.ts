import {
  collectDefaultMetrics,
  Counter,
  type CounterConfiguration,
  Gauge,
  type GaugeConfiguration,
  Histogram,
  type HistogramConfiguration,
  Registry,
} from 'prom-client';
import type { HttpApp } from './http-app.ts';

/** Seconds, from 1 ms to 10 s: handlers here are database transactions and HTTP calls. */
export const latencyBucketsSeconds = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/**
 * A new registry with Node's process metrics (CPU, memory, event loop lag, GC) and `labels`
 * added to every series. Each app owns its registry; prom-client's global default registry is
 * never used, so several apps in one process (embedded mode) do not collide.
 */
export function createMetricsRegistry(labels: Readonly<Record<string, string>> = {}): Registry {
  const registry = new Registry();
  registry.setDefaultLabels(labels);
  collectDefaultMetrics({ register: registry });
  return registry;
}

function conflict(name: string): Error {
  return new Error(`metric ${name} is already registered with a different type`);
}

/**
 * The histogram named `config.name` in `registry`, created on first use: registering the same
 * metric twice (two consumers, two apps sharing a registry) reuses it instead of throwing.
 */
export function histogramIn<T extends string>(
  registry: Registry,
  config: HistogramConfiguration<T>,
): Histogram<T> {
  const existing = registry.getSingleMetric(config.name);
  if (existing instanceof Histogram) return existing;
  if (existing !== undefined) throw conflict(config.name);
  return new Histogram({ ...config, registers: [registry] });
}

/** Like `histogramIn`, for counters. */
export function counterIn<T extends string>(
  registry: Registry,
  config: CounterConfiguration<T>,
): Counter<T> {
  const existing = registry.getSingleMetric(config.name);
  if (existing instanceof Counter) return existing;
  if (existing !== undefined) throw conflict(config.name);
  return new Counter({ ...config, registers: [registry] });
}

/** Like `histogramIn`, for gauges without a collect callback. */
export function gaugeIn<T extends string>(
  registry: Registry,
  config: Omit<GaugeConfiguration<T>, 'collect'>,
): Gauge<T> {
  const existing = registry.getSingleMetric(config.name);
  if (existing instanceof Gauge) return existing;
  if (existing !== undefined) throw conflict(config.name);
  return new Gauge({ ...config, registers: [registry] });
}

/**
 * Observes every answered request in `cads_http_request_duration_seconds{method,route,status}`.
 * `route` is the route pattern (`/api/bookings/:id`), or `unmatched` for 404s, so label
 * cardinality stays bounded whatever URLs clients send.
 */
export function observeHttpRequests(app: HttpApp, registry: Registry): void {
  const duration = histogramIn(registry, {
    name: 'cads_http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by route pattern, method and status code.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: latencyBucketsSeconds,
  });
  app.addHook('onResponse', (request, reply, done) => {
    duration.observe(
      {
        method: request.method,
        route: request.is404 ? 'unmatched' : (request.routeOptions.url ?? 'unmatched'),
        status: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
    done();
  });
}
