import { getText } from './client.ts';

/** Histograms worth reading when a saga is slow: every handler, and the HTTP requests. */
const histograms = ['cads_consumer_handler_seconds', 'cads_http_request_duration_seconds'];

interface Series {
  count: number;
  sum: number;
  /** Cumulative bucket counts by upper bound (seconds). */
  readonly buckets: Map<number, number>;
}

/** Every histogram series of every service, keyed `service metric {labels}`. */
export type Scrape = Map<string, Series>;

const LINE = /^(\w+?)(_bucket|_sum|_count)\{([^}]*)\} ([^\s]+)/;

function parse(service: string, text: string, into: Scrape): void {
  for (const line of text.split('\n')) {
    const match = LINE.exec(line);
    if (!match) continue;
    const [, name = '', suffix, labelText = '', value = '0'] = match;
    if (!histograms.includes(name)) continue;
    // Scraping itself is not the system's work.
    if (labelText.includes('route="/metrics"')) continue;
    const labels = labelText
      .split(/,(?=\w+=")/)
      .filter((label) => !label.startsWith('le=') && !label.startsWith('service='));
    const key = `${service} ${name.replace(/^cads_|_seconds$/g, '')} {${labels.join(',')}}`;
    const series = into.get(key) ?? { count: 0, sum: 0, buckets: new Map<number, number>() };
    into.set(key, series);
    if (suffix === '_sum') series.sum = Number(value);
    else if (suffix === '_count') series.count = Number(value);
    else {
      const le = /le="([^"]+)"/.exec(labelText)?.[1] ?? '+Inf';
      series.buckets.set(le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le), Number(value));
    }
  }
}

/** Every service's `/metrics`, with the admin token (the BFF's are closed without it). */
export async function scrapeMetrics(
  urls: Readonly<Record<string, string>>,
  adminToken: string,
): Promise<Scrape> {
  const scrape: Scrape = new Map();
  const headers = { authorization: `Bearer ${adminToken}` };
  await Promise.all(
    Object.entries(urls).map(async ([service, url]) => {
      const text = await getText(`${url}/metrics`, headers).catch(() => '');
      parse(service, text, scrape);
    }),
  );
  return scrape;
}

/** What happened between two scrapes: count, mean and a bucket-bound p99 per series. */
export function describeMetrics(before: Scrape, after: Scrape, seconds: number): string[] {
  const rows: string[] = [];
  for (const [key, end] of [...after].sort(([a], [b]) => a.localeCompare(b))) {
    const start = before.get(key);
    const count = end.count - (start?.count ?? 0);
    if (count <= 0) continue;
    const sum = end.sum - (start?.sum ?? 0);
    const bounds = [...end.buckets.keys()].sort((a, b) => a - b);
    const p99 = bounds.find(
      (bound) => (end.buckets.get(bound) ?? 0) - (start?.buckets.get(bound) ?? 0) >= 0.99 * count,
    );
    rows.push(
      `${key.padEnd(96)} ${(count / seconds).toFixed(0).padStart(6)}/s  mean ${((1_000 * sum) / count).toFixed(1).padStart(7)} ms  p99 ≤ ${p99 === undefined || p99 === Number.POSITIVE_INFINITY ? '∞' : `${p99 * 1_000} ms`}`,
    );
  }
  return rows;
}
