import type { MemorySample } from './probe.ts';
import type { Transport } from './protocol.ts';

export const targets = {
  connections: 19_000,
  bytesPerConnection: 16 * 1024,
  fanOutMs: 500,
  rate: 1_000,
  pushP99Ms: 20,
};

/** Nearest-rank percentile of ascending `sorted`; NaN when empty. */
export function percentile(sorted: readonly number[], share: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(share * sorted.length) - 1)] ?? Number.NaN;
}

export interface Distribution {
  readonly count: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
}

export function distribution(values: readonly number[]): Distribution {
  const sorted = Float64Array.from(values).sort();
  const list = Array.from(sorted);
  return {
    count: list.length,
    p50Ms: percentile(list, 0.5),
    p99Ms: percentile(list, 0.99),
    p999Ms: percentile(list, 0.999),
    maxMs: list.at(-1) ?? Number.NaN,
  };
}

export interface FanOutResult {
  readonly transport: Transport;
  readonly requested: number;
  readonly opened: number;
  readonly failed: number;
  readonly firstError: string | undefined;
  readonly openSeconds: number;
  readonly before: MemorySample;
  readonly after: MemorySample;
  /** Publish → receipt of each event on each connection. */
  readonly delivery: Distribution;
  /** Events published one after the other (each once every connection had the previous). */
  readonly events: number;
  /** Receipts of the events, over all connections (every connection should get every one). */
  readonly received: number;
  readonly dropped: number;
  /** CPU the BFF process spent per event, from its publish until every connection had it. */
  readonly bffCpuMs: number;
  /** The same for the client workers together. */
  readonly clientCpuMs: number;
}

export interface LatencyResult {
  readonly transport: Transport;
  readonly connections: number;
  readonly failed: number;
  readonly rate: number;
  readonly seconds: number;
  readonly warmupSeconds: number;
  /** Events published, and receipts counted by the clients (one connection per order). */
  readonly published: number;
  readonly received: number;
  readonly publishErrors: number;
  readonly latency: Distribution;
  /** CPU cores the BFF process used over the measured window. */
  readonly bffCores: number;
  /** How far the publisher fell behind its schedule at worst. */
  readonly maxLagMs: number;
  readonly dropped: number;
}

const int = (value: number) =>
  Number.isFinite(value) ? Math.round(value).toLocaleString('en') : '–';
const ms = (value: number) =>
  Number.isFinite(value) ? value.toFixed(value < 10 ? 2 : value < 100 ? 1 : 0) : '–';
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;

export const perConnection = (result: FanOutResult, field: keyof MemorySample) =>
  (result.after[field] - result.before[field]) / Math.max(1, result.opened);

export function describeFanOut(result: FanOutResult): string {
  const { delivery } = result;
  return (
    `[fan-out ${result.transport}] ${int(result.opened)}/${int(result.requested)} open in ${result.openSeconds.toFixed(1)} s` +
    (result.failed ? ` (${int(result.failed)} failed: ${result.firstError ?? '?'})` : '') +
    `; RSS ${mib(result.before.rssBytes)} → ${mib(result.after.rssBytes)} = ${kib(perConnection(result, 'rssBytes'))}/connection, ` +
    `heap ${kib(perConnection(result, 'heapUsedBytes'))}, external ${kib(perConnection(result, 'externalBytes'))}; ` +
    `open files ${int(result.before.fds)} → ${int(result.after.fds)}; one event to all: p50 ${ms(delivery.p50Ms)} ms, p99 ${ms(delivery.p99Ms)} ms, ` +
    `max ${ms(delivery.maxMs)} ms, ${int(result.received)}/${int(result.opened * result.events)} received; CPU per event: BFF ${int(result.bffCpuMs)} ms, clients ${int(result.clientCpuMs)} ms` +
    (result.dropped ? `, ${int(result.dropped)} dropped` : '')
  );
}

export function describeLatency(result: LatencyResult): string {
  const { latency } = result;
  return (
    `[push ${result.transport}] ${int(result.connections)} connections, ${int(result.rate)} events/s for ${result.seconds} s ` +
    `(after ${result.warmupSeconds} s of warm-up): p50 ${ms(latency.p50Ms)} ms, p99 ${ms(latency.p99Ms)} ms, ` +
    `p99.9 ${ms(latency.p999Ms)} ms, max ${ms(latency.maxMs)} ms over ${int(latency.count)}; ` +
    `${int(result.received)}/${int(result.published)} received; BFF ${result.bffCores.toFixed(2)} cores; ` +
    `publisher lag ≤ ${ms(result.maxLagMs)} ms` +
    (result.failed ? `, ${int(result.failed)} failed to open` : '') +
    (result.publishErrors ? `, ${int(result.publishErrors)} publish errors` : '') +
    (result.dropped ? `, ${int(result.dropped)} dropped` : '')
  );
}

const status = (met: boolean) => (met ? 'met' : '**missed**');

export function verdicts(
  fanOuts: readonly FanOutResult[],
  latencies: readonly LatencyResult[],
): string[] {
  const lines: string[] = [];
  for (const result of fanOuts) {
    const name = result.transport === 'sse' ? 'SSE' : 'WebSocket';
    const complete = result.received === result.opened * result.events && result.dropped === 0;
    lines.push(
      `${int(targets.connections)} ${name} connections on one BFF process: ${status(result.opened >= targets.connections && result.failed === 0)} (${int(result.opened)} open, ${int(result.failed)} failed).`,
      `${name} memory ≤ 16 KB per connection: ${status(perConnection(result, 'rssBytes') <= targets.bytesPerConnection)} (RSS ${kib(perConnection(result, 'rssBytes'))}, heap ${kib(perConnection(result, 'heapUsedBytes'))}).`,
      `${name}: one event to every connection, p99 and max ≤ ${targets.fanOutMs} ms: ${status(complete && result.delivery.maxMs <= targets.fanOutMs)} (p99 ${ms(result.delivery.p99Ms)} ms, max ${ms(result.delivery.maxMs)} ms, ${int(result.received)} of ${int(result.opened * result.events)} receipts).`,
    );
  }
  for (const result of latencies) {
    const name = result.transport === 'sse' ? 'SSE' : 'WebSocket';
    const complete = result.received === result.published && result.publishErrors === 0;
    lines.push(
      `${name} push latency p99 ≤ ${targets.pushP99Ms} ms at ${int(targets.rate)} events/s: ${status(complete && result.rate >= targets.rate && result.latency.p99Ms <= targets.pushP99Ms)} (p99 ${ms(result.latency.p99Ms)} ms at ${int(result.rate)}/s, ${int(result.received)} of ${int(result.published)} received).`,
    );
  }
  return lines;
}

/** Where and how the figures were measured. */
export interface RunContext {
  readonly machine: string;
  /** One-minute load average when the run started: other work on the machine skews figures. */
  readonly loadAverage: number;
  readonly workers: number;
  readonly workerNice: number;
}

export function liveSection(
  context: RunContext,
  fanOuts: readonly FanOutResult[],
  latencies: readonly LatencyResult[],
): string {
  const fanOutRows = fanOuts.map(
    (result) =>
      `| ${result.transport === 'sse' ? 'SSE' : 'WebSocket'} | ${int(result.opened)}${result.failed ? ` (${int(result.failed)} failed)` : ''} | ${result.openSeconds.toFixed(1)} s | ${mib(result.before.rssBytes)} → ${mib(result.after.rssBytes)} | ${kib(perConnection(result, 'rssBytes'))} | ${kib(perConnection(result, 'heapUsedBytes'))} | ${int(result.after.fds)} | ${ms(result.delivery.p50Ms)} | ${ms(result.delivery.p99Ms)} | ${ms(result.delivery.maxMs)} | ${int(result.received)}/${int(result.opened * result.events)} | ${int(result.bffCpuMs)} / ${int(result.clientCpuMs)} ms |`,
  );
  const latencyRows = latencies.map(
    (result) =>
      `| ${result.transport === 'sse' ? 'SSE' : 'WebSocket'} | ${int(result.connections)} | ${int(result.rate)}/s × ${result.seconds} s | ${int(result.latency.count)} | ${ms(result.latency.p50Ms)} | ${ms(result.latency.p99Ms)} | ${ms(result.latency.p999Ms)} | ${ms(result.latency.maxMs)} | ${int(result.received)}/${int(result.published)} | ${result.bffCores.toFixed(2)} |`,
  );
  const parts = [
    `<!-- live:begin -->`,
    '',
    `Measured ${new Date().toISOString().slice(0, 10)} on ${context.machine}, load average ${context.loadAverage.toFixed(2)} at the start. Clients: ${context.workers} worker processes at nice ${context.workerNice}.`,
  ];
  if (fanOutRows.length > 0) {
    parts.push(
      '',
      `**Fan-out**: one order, watched by every connection (one browser session, many tabs); memory after full garbage collections, before and after opening them; then ${fanOuts[0]?.events ?? 1} saga events one after the other, from the publish of each to its receipt on each connection. Latencies in ms; CPU per event of the BFF process and of the client workers.`,
      '',
      '| transport | connections | opened in | BFF RSS | RSS / connection | heap / connection | open files | p50 | p99 | max | received | CPU per event: BFF / clients |',
      '|---|---|---|---|---|---|---|---|---|---|---|---|',
      ...fanOutRows,
    );
  }
  if (latencyRows.length > 0) {
    const first = latencies[0]!;
    parts.push(
      '',
      `**Push latency**: ${int(first.connections)} users, each with one order and one connection; saga events published round-robin over the orders at a steady rate, after ${first.warmupSeconds} s of warm-up; from the publish call to the client's receipt. Latencies in ms.`,
      '',
      '| transport | connections | events | measured | p50 | p99 | p99.9 | max | received/published | BFF CPU (cores) |',
      '|---|---|---|---|---|---|---|---|---|---|',
      ...latencyRows,
    );
  }
  parts.push(
    '',
    ...verdicts(fanOuts, latencies).map((line) => `- ${line}`),
    '',
    '<!-- live:end -->',
  );
  return parts.join('\n');
}
