import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { type OrderEndpoint, placeOrder } from './client.ts';
import { type CpuUse, cpuBetween, sampleCpu } from './cpu.ts';
import type { FinalTracker } from './tracker.ts';

/** How one saga went, in `performance.now()` times. */
export interface SagaEnd {
  /** When the system accepted it (CADS: the 202; a peer that answers at the end: its end). */
  readonly accepted: number;
  readonly end: number;
  /** `payment_done` when it completed, else how it failed. */
  readonly type: string;
}

/** A system under load: how to run one saga on it. */
export interface LoadTarget {
  /**
   * Starts one saga for `userId` (a user of its own) and resolves when it has ended, or to
   * `undefined` after `timeoutMs`; rejects when the system refused it.
   */
  readonly run: (userId: string, timeoutMs: number) => Promise<SagaEnd | undefined>;
  /** Set on Ctrl-C: loops stop sending. */
  readonly interrupted: () => boolean;
}

/** A CADS system: `POST /api/orders`, then its final event seen on the broker. */
export interface CadsTarget extends LoadTarget {
  readonly tracker: FinalTracker;
}

export function cadsTarget(
  order: OrderEndpoint,
  tracker: FinalTracker,
  interrupted: () => boolean,
): CadsTarget {
  return {
    tracker,
    interrupted,
    async run(userId, timeoutMs) {
      const orderId = await placeOrder(order, userId);
      const accepted = performance.now();
      const final = await tracker.wait(orderId, timeoutMs);
      return final && { accepted, end: final.at, type: final.type };
    },
  };
}

export interface PhaseResult {
  readonly label: string;
  /** Orders per second sent (open loop), or undefined (closed loop). */
  readonly offered: number | undefined;
  readonly concurrency: number | undefined;
  readonly seconds: number;
  readonly sent: number;
  /** Sagas whose final arrived inside the measured window, per second of it. */
  readonly sagasPerSecond: number;
  /** Request start → final event, over the sagas measured. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Request start → 202, p50 and p99. */
  readonly acceptP50Ms: number;
  readonly acceptP99Ms: number;
  /** Finals other than `payment_done` (none expected: every external accepts). */
  readonly cancelled: number;
  readonly errors: number;
  readonly timeouts: number;
  /** Open loop: the furthest the generator fell behind its schedule. */
  readonly maxLagMs: number;
  readonly cpu: CpuUse;
}

interface Saga {
  readonly start: number;
  readonly accepted: number;
  readonly end: number;
  readonly type: string;
}

type Outcome = Saga | { readonly error: string } | { readonly timeout: true };

const runId = randomUUID().slice(0, 8);
let sequence = 0;
/** A user of its own for every order: no order ever shares a user (or a scope) with another. */
const nextUserId = () => `bench-${runId}-${++sequence}`;

/** Waiting longer than this for a final counts the saga as timed out. */
const sagaTimeoutMs = 60_000;

async function runSaga(target: LoadTarget): Promise<Outcome> {
  const start = performance.now();
  try {
    const end = await target.run(nextUserId(), sagaTimeoutMs);
    return end ? { start, ...end } : { timeout: true };
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))] ?? Number.NaN;
}

class Recorder {
  readonly sagas: Saga[] = [];
  readonly errorMessages = new Map<string, number>();
  errors = 0;
  timeouts = 0;

  record(outcome: Outcome): void {
    if ('error' in outcome) {
      this.errors += 1;
      this.errorMessages.set(outcome.error, (this.errorMessages.get(outcome.error) ?? 0) + 1);
    } else if ('timeout' in outcome) {
      this.timeouts += 1;
    } else {
      this.sagas.push(outcome);
    }
  }

  /** Figures over `measured`, throughput over the completions inside [from, to]. */
  result(
    fields: Pick<
      PhaseResult,
      'label' | 'offered' | 'concurrency' | 'seconds' | 'sent' | 'maxLagMs' | 'cpu'
    >,
    measured: readonly Saga[],
    from: number,
    to: number,
  ): PhaseResult {
    const latencies = measured.map((saga) => saga.end - saga.start).sort((a, b) => a - b);
    const accepts = measured.map((saga) => saga.accepted - saga.start).sort((a, b) => a - b);
    const completed = this.sagas.filter((saga) => saga.end >= from && saga.end <= to).length;
    for (const [message, count] of this.errorMessages) console.warn(`  ${count} × ${message}`);
    return {
      ...fields,
      sagasPerSecond: completed / ((to - from) / 1_000),
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      maxMs: latencies.at(-1) ?? Number.NaN,
      acceptP50Ms: percentile(accepts, 50),
      acceptP99Ms: percentile(accepts, 99),
      cancelled: measured.filter((saga) => saga.type !== 'payment_done').length,
      errors: this.errors,
      timeouts: this.timeouts,
    };
  }
}

/**
 * Closed loop: `concurrency` sagas in flight at all times (each worker places an order, waits
 * for its final, places the next). Measures the sagas that end within `seconds` after
 * `warmupSeconds`; the loop then stops and the sagas in flight are drained.
 */
export async function closedLoop(
  target: LoadTarget,
  options: { label: string; concurrency: number; seconds: number; warmupSeconds: number },
): Promise<PhaseResult> {
  const recorder = new Recorder();
  const t0 = performance.now();
  const from = t0 + options.warmupSeconds * 1_000;
  const to = from + options.seconds * 1_000;
  const cpuStart = sleep(options.warmupSeconds * 1_000).then(sampleCpu);
  const cpuEnd = sleep(options.warmupSeconds * 1_000 + options.seconds * 1_000).then(sampleCpu);
  let sent = 0;
  const worker = async () => {
    while (performance.now() < to && !target.interrupted()) {
      sent += 1;
      const outcome = await runSaga(target);
      recorder.record(outcome);
      if ('error' in outcome) await sleep(20);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  const cpu = cpuBetween(await cpuStart, await cpuEnd);
  const measured = recorder.sagas.filter((saga) => saga.end >= from && saga.end <= to);
  return recorder.result(
    {
      label: options.label,
      offered: undefined,
      concurrency: options.concurrency,
      seconds: options.seconds,
      sent,
      maxLagMs: 0,
      cpu,
    },
    measured,
    from,
    to,
  );
}

/**
 * Open loop: orders sent at `rate` per second on a fixed schedule for `seconds`, none waiting
 * for another, then every saga sent is awaited. Latency covers every saga sent; throughput
 * counts the finals received within the sending window.
 */
export async function openLoop(
  target: LoadTarget,
  options: { label: string; rate: number; seconds: number },
): Promise<PhaseResult> {
  const recorder = new Recorder();
  const total = Math.round(options.rate * options.seconds);
  const runs: Array<Promise<void>> = [];
  const cpuStart = await sampleCpu();
  const t0 = performance.now();
  const to = t0 + options.seconds * 1_000;
  let sent = 0;
  let maxLagMs = 0;
  while (sent < total && !target.interrupted()) {
    const now = performance.now();
    const due = Math.min(total, Math.floor(((now - t0) * options.rate) / 1_000) + 1);
    if (due > sent) maxLagMs = Math.max(maxLagMs, now - (t0 + (sent * 1_000) / options.rate));
    for (; sent < due; sent += 1)
      runs.push(runSaga(target).then((outcome) => recorder.record(outcome)));
    const nextAt = t0 + (sent * 1_000) / options.rate;
    await sleep(Math.max(0, Math.min(10, nextAt - performance.now())));
  }
  await sleep(Math.max(0, to - performance.now()));
  const cpu = cpuBetween(cpuStart, await sampleCpu());
  await Promise.all(runs);
  return recorder.result(
    {
      label: options.label,
      offered: options.rate,
      concurrency: undefined,
      seconds: options.seconds,
      sent,
      maxLagMs,
      cpu,
    },
    recorder.sagas,
    t0,
    to,
  );
}
