/**
 * Live benchmark: how many SSE and WebSocket connections one BFF process holds, what each
 * costs in memory, how long one saga event takes to reach all of them, and the push latency of
 * a steady stream of events, each connection watching its own order. The BFF runs as its own
 * process (a fresh one per phase); client connections are spread over worker processes.
 * `--write` also records the results in docs/benchmarks.md.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { menu } from '@cads/externals/contracts';
import { createMessage, type Message } from '@cads/messaging';
import type { RestaurantReserved } from '@cads/restaurant/contracts';
import { seedOrder } from '../saga/client.ts';
import { machine } from '../saga/report.ts';
import { ClientPool, workerNice } from './client-pool.ts';
import { cpuSeconds, openInspector, settledMemory, summariseProfile } from './probe.ts';
import { type BenchStamp, monotonicMs, type Transport } from './protocol.ts';
import {
  describeFanOut,
  describeLatency,
  distribution,
  type FanOutResult,
  type LatencyResult,
  liveSection,
  verdicts,
} from './report.ts';
import { type LiveSystem, startLiveSystem } from './system.ts';

const usage = `Usage: npm run bench:live -- [options]
  --connections N           fan-out: connections on one order (default 19000; --quick 500)
  --latency-connections M   push latency: users, each with an order and one connection
                            (default 1000; --quick 200)
  --events K                fan-out: events published one after the other (default 5)
  --rate R                  push latency: events per second (default 1000)
  --seconds S               push latency: measured seconds (default 20; --quick 5)
  --warmup W                push latency: seconds published first, not measured (default 2)
  --transport sse|ws|both   default both
  --open-concurrency C      connections being opened at once, over all workers (default 256)
  --quick                   a small run to try things out
  --profile                 print where the BFF spends its CPU on the fan-out event
  --write                   replace the live section of docs/benchmarks.md
`;

const { values } = parseArgs({
  options: {
    connections: { type: 'string' },
    'latency-connections': { type: 'string' },
    rate: { type: 'string', default: '1000' },
    seconds: { type: 'string' },
    warmup: { type: 'string', default: '2' },
    transport: { type: 'string', default: 'both' },
    'open-concurrency': { type: 'string', default: '256' },
    events: { type: 'string', default: '5' },
    quick: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    write: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  process.stdout.write(usage);
  process.exit(0);
}
const quick = values.quick;
const options = {
  connections: Number(values.connections ?? (quick ? 500 : 19_000)),
  latencyConnections: Number(values['latency-connections'] ?? (quick ? 200 : 1_000)),
  rate: Number(values.rate),
  seconds: Number(values.seconds ?? (quick ? 5 : 20)),
  warmupSeconds: Number(values.warmup),
  openConcurrency: Number(values['open-concurrency']),
  events: Number(values.events),
};
const transports: Transport[] =
  values.transport === 'both'
    ? ['sse', 'ws']
    : values.transport === 'sse' || values.transport === 'ws'
      ? [values.transport]
      : [];
if (
  transports.length === 0 ||
  Object.values(options).some((value) => !Number.isFinite(value) || value < 0) ||
  options.latencyConnections < 1 ||
  options.events < 1 ||
  options.openConcurrency < 1
) {
  process.stderr.write(usage);
  process.exit(2);
}

/** A browser of the benchmark: its session cookie and one order it placed. */
interface Watcher {
  readonly cookie: string;
  readonly userId: string;
  readonly orderId: string;
}

async function newWatcher(bffUrl: string): Promise<Watcher> {
  const session = await fetch(`${bffUrl}/api/session`);
  const cookie = session.headers
    .getSetCookie()
    .find((value) => value.startsWith('cads_session='))
    ?.split(';')[0];
  if (session.status !== 200 || !cookie) throw new Error(`GET /api/session: ${session.status}`);
  const placed = await fetch(`${bffUrl}/api/orders`, {
    method: 'POST',
    headers: { cookie, 'content-type': 'application/json' },
    body: JSON.stringify(seedOrder),
  });
  const text = await placed.text();
  if (placed.status !== 202) throw new Error(`POST /api/orders: ${placed.status} ${text}`);
  const { orderId, userId } = JSON.parse(text) as { orderId: string; userId: string };
  return { cookie, userId, orderId };
}

async function newWatchers(bffUrl: string, count: number): Promise<Watcher[]> {
  const watchers: Watcher[] = [];
  let started = 0;
  const lane = async () => {
    while (started < count) {
      started += 1;
      watchers.push(await newWatcher(bffUrl));
    }
  };
  await Promise.all(Array.from({ length: Math.min(16, count) }, lane));
  return watchers;
}

const pizzeria = menu.find((restaurant) => restaurant.id === seedOrder.restaurantId)!;

/** `restaurant_reserved` of the watcher's order, as the restaurant service emits it, stamped. */
function reservedEvent(
  watcher: Watcher,
  stamp: BenchStamp,
): Message<RestaurantReserved & BenchStamp> {
  return createMessage({
    type: 'restaurant_reserved',
    source: '/cads/restaurant',
    subject: watcher.orderId,
    data: {
      orderId: watcher.orderId,
      userId: watcher.userId,
      restaurantId: pizzeria.id,
      cart: seedOrder.cart,
      priceCents: 5_230,
      restaurantPhone: pizzeria.phone,
      restaurantAddress: pizzeria.address,
      status: 0,
      ...stamp,
    },
  });
}

const openTimeoutMs = 60_000;

async function fanOut(
  system: LiveSystem,
  pool: ClientPool,
  transport: Transport,
): Promise<FanOutResult> {
  const bff = await system.startBff();
  try {
    const watcher = await newWatcher(bff.url);
    const group = { orderId: watcher.orderId, cookie: watcher.cookie };
    const openOptions = { concurrency: options.openConcurrency, timeoutMs: openTimeoutMs };
    // Code compiled and pools filled before the baseline, so the difference is the connections.
    const warm = Math.min(500, options.connections);
    await pool.open(transport, bff.url, [{ ...group, count: warm }], openOptions);
    await pool.closeConnections();
    await sleep(1_000);
    const before = await settledMemory(bff.pid, bff.inspectorPort);
    const openStart = performance.now();
    const opened = await pool.open(
      transport,
      bff.url,
      [{ ...group, count: options.connections }],
      openOptions,
    );
    const openSeconds = (performance.now() - openStart) / 1_000;
    // The heartbeat interval has not passed: no connection has been written to since.
    await sleep(1_000);
    const after = await settledMemory(bff.pid, bff.inspectorPort);
    const profiler = values.profile ? await openInspector(bff.inspectorPort) : undefined;
    await profiler?.call('Profiler.enable');
    await profiler?.call('Profiler.setSamplingInterval', { interval: 100 });
    await profiler?.call('Profiler.start');
    let bffCpuSeconds = 0;
    let clientCpuSeconds = 0;
    const clientCpu = async () =>
      (await Promise.all(pool.pids.map((pid) => cpuSeconds(pid)))).reduce((a, b) => a + b, 0);
    let complete = true;
    for (let event = 1; event <= options.events && complete; event++) {
      const [bffBefore, clientsBefore] = [await cpuSeconds(bff.pid), await clientCpu()];
      const reached = pool.expect(event, 30_000);
      await system.publisher.publish([
        reservedEvent(watcher, { benchSentAtMs: monotonicMs(), benchMeasured: true }),
      ]);
      complete = await reached;
      bffCpuSeconds += (await cpuSeconds(bff.pid)) - bffBefore;
      clientCpuSeconds += (await clientCpu()) - clientsBefore;
      await sleep(250);
    }
    if (profiler) {
      const { profile } = (await profiler.call('Profiler.stop')) as { profile: unknown };
      profiler.close();
      console.log(`[fan-out ${transport}] BFF CPU profile of the event, self time:`);
      for (const line of summariseProfile(profile)) console.log(`    ${line}`);
    }
    const collected = await pool.collect();
    await pool.closeConnections();
    return {
      transport,
      requested: options.connections,
      opened: opened.opened,
      failed: opened.failed,
      firstError: opened.firstError,
      openSeconds,
      before,
      after,
      delivery: distribution(collected.latenciesMs),
      received: collected.received,
      dropped: collected.droppedConnections,
      events: options.events,
      bffCpuMs: (bffCpuSeconds * 1_000) / options.events,
      clientCpuMs: (clientCpuSeconds * 1_000) / options.events,
    };
  } finally {
    await pool.closeConnections().catch(() => undefined);
    await bff.stop();
  }
}

async function pushLatency(
  system: LiveSystem,
  pool: ClientPool,
  transport: Transport,
  watchers: readonly Watcher[],
): Promise<LatencyResult> {
  const bff = await system.startBff();
  try {
    const opened = await pool.open(
      transport,
      bff.url,
      watchers.map((watcher) => ({ orderId: watcher.orderId, cookie: watcher.cookie, count: 1 })),
      { concurrency: options.openConcurrency, timeoutMs: openTimeoutMs },
    );
    await sleep(500);
    const { rate, seconds, warmupSeconds } = options;
    // Every order gets the same number of events, so every connection expects that many.
    const perOrder = Math.max(1, Math.round((rate * (seconds + warmupSeconds)) / watchers.length));
    const total = perOrder * watchers.length;
    const warmupEvents = Math.round(rate * warmupSeconds);
    let publishErrors = 0;
    let maxLagMs = 0;
    let cpuStart: { at: number; cpu: number } | undefined;
    const publishing: Promise<void>[] = [];
    const start = monotonicMs();
    for (let next = 0; next < total;) {
      const now = monotonicMs();
      const due = Math.min(total, Math.floor(((now - start) * rate) / 1_000) + 1);
      if (due > next) {
        maxLagMs = Math.max(maxLagMs, now - start - (next * 1_000) / rate);
        if (!cpuStart && next >= warmupEvents) {
          cpuStart = { at: performance.now(), cpu: await cpuSeconds(bff.pid) };
        }
        const batch: Message[] = [];
        const stamp = monotonicMs();
        for (; next < due; next++) {
          const watcher = watchers[next % watchers.length]!;
          batch.push(
            reservedEvent(watcher, { benchSentAtMs: stamp, benchMeasured: next >= warmupEvents }),
          );
        }
        publishing.push(
          system.publisher.publish(batch).catch(() => {
            publishErrors += batch.length;
          }),
        );
      }
      await sleep(1);
    }
    const cpuEnd = { at: performance.now(), cpu: await cpuSeconds(bff.pid) };
    await Promise.all(publishing);
    await pool.expect(perOrder, 30_000);
    const collected = await pool.collect();
    await pool.closeConnections();
    const window = cpuStart ?? cpuEnd;
    return {
      transport,
      connections: opened.opened,
      failed: opened.failed,
      rate,
      seconds,
      warmupSeconds,
      published: total - publishErrors,
      received: collected.received,
      publishErrors,
      latency: distribution(collected.latenciesMs),
      bffCores: (cpuEnd.cpu - window.cpu) / Math.max(1e-3, (cpuEnd.at - window.at) / 1_000),
      maxLagMs,
      dropped: collected.droppedConnections,
    };
  } finally {
    await pool.closeConnections().catch(() => undefined);
    await bff.stop();
  }
}

let system: LiveSystem | undefined;
let pool: ClientPool | undefined;
let interrupted = false;
const cleanUp = async () => {
  await pool?.stop();
  await system?.dispose();
};
process.on('SIGINT', () => {
  if (interrupted) process.exit(130);
  interrupted = true;
  console.warn('\ninterrupted: stopping every process and deleting the databases and streams');
  void cleanUp().finally(() => process.exit(130));
});
// Whatever way this process ends, no process it started outlives it.
process.on('exit', () => {
  pool?.kill();
  system?.kill();
});

const [load1] = loadavg();
console.log(
  `load average ${load1?.toFixed(2)}${(load1 ?? 0) >= 1 ? ' — the machine is busy: figures will suffer' : ''}`,
);
const fanOuts: FanOutResult[] = [];
const latencies: LatencyResult[] = [];
let failed = false;
try {
  pool = ClientPool.start(Math.max(options.connections, options.latencyConnections));
  system = await startLiveSystem({ logLevel: process.env.CADS_LOG_LEVEL ?? 'warn' });
  console.log(
    `order ${system.orderUrl}, notifications ${system.notificationsUrl}; ${pool.size} client workers`,
  );
  // The push phases' users and orders first: the order service's work for them (outbox,
  // relay, vacuum) is long over when those phases measure.
  let watchers: Watcher[] = [];
  if (options.seconds > 0) {
    const setup = await system.startBff();
    watchers = await newWatchers(setup.url, options.latencyConnections).finally(() => setup.stop());
  }
  for (const transport of transports) {
    if (interrupted) break;
    const result = await fanOut(system, pool, transport);
    console.log(describeFanOut(result));
    fanOuts.push(result);
  }
  if (!interrupted && options.seconds > 0) {
    for (const transport of transports) {
      if (interrupted) break;
      const result = await pushLatency(system, pool, transport, watchers);
      console.log(describeLatency(result));
      latencies.push(result);
    }
  }
} catch (error) {
  if (!interrupted) console.error('the live benchmark failed:', error);
  failed = true;
} finally {
  if (!interrupted) await cleanUp();
}

if (!interrupted && fanOuts.length + latencies.length > 0) {
  for (const verdict of verdicts(fanOuts, latencies)) console.log(verdict.replaceAll('**', ''));
  const section = liveSection(
    { machine: machine(), loadAverage: load1 ?? 0, workers: pool?.size ?? 0, workerNice },
    fanOuts,
    latencies,
  );
  console.log(`\n${section}`);
  if (values.write) {
    const file = new URL('../../docs/benchmarks.md', import.meta.url);
    const current = await readFile(file, 'utf8');
    if (!current.includes('<!-- live:begin -->'))
      throw new Error('docs/benchmarks.md has no live section');
    await writeFile(
      file,
      current.replace(/<!-- live:begin -->[\s\S]*<!-- live:end -->/, () => section),
    );
    console.log('\nwritten to docs/benchmarks.md (run prettier on it)');
  }
}
process.exit(failed ? 1 : 0);
