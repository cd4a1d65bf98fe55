import { performance } from 'node:perf_hooks';
import { type Broker, createMessage, type Delivery, type Message } from '@cads/messaging';
import { createConsumer, createOutboxRelay, on } from '@cads/consumer';
import { sql, type Database } from '@cads/storage';
import Type from 'typebox';
import type { Setup } from './scenarios.ts';

export interface StepResult {
  readonly steps: number;
  readonly seconds: number;
  readonly stepsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

const Step = Type.Object({ n: Type.Integer() });

export const stateTable = `create table if not exists bench_state (
  order_id text primary key, step int not null, updated_at timestamptz not null default now())`;

/**
 * Runs `chains` endless chains of steps for `seconds` after a warm-up. A step: the consumer
 * receives `bench_step` n, and in one transaction records the inbox entry, upserts the order's
 * state and writes `bench_step` n+1 to the outbox; the relay publishes it; the delivery is acked.
 * Latency of a step: from the creation of its message (inside the previous step's transaction)
 * to the ack of its own delivery.
 */
export async function runSteps(
  setup: Setup,
  { chains, seconds, warmupSeconds }: { chains: number; seconds: number; warmupSeconds: number },
): Promise<StepResult> {
  const { db } = setup;
  await db.query(stateTable);
  let measuring = false;
  let steps = 0;
  const latencies: number[] = [];
  const broker = measuredAcks(setup.broker, (latencyMs) => {
    if (!measuring) return;
    steps += 1;
    latencies.push(latencyMs);
  });
  const relay = createOutboxRelay({ db, broker, source: 'bench', pollIntervalMs: 100 });
  const consumer = createConsumer({
    name: 'bench',
    source: '/bench',
    db,
    broker,
    relay,
    concurrency: setup.concurrency,
    batchSize: setup.batchSize,
    maxInFlight: Math.max(256, chains * 2),
    handlers: {
      bench_step: on(Step, async (message, { tx, emit }) => {
        await tx.query(
          sql`insert into bench_state (order_id, step) values (${message.subject}, ${message.data.n})
              on conflict (order_id) do update set step = excluded.step, updated_at = now()`,
        );
        emit({ type: 'bench_step', data: { n: message.data.n + 1 } });
      }),
    },
  });
  await relay.start();
  await consumer.start();
  await broker.publish(
    Array.from({ length: chains }, (_, i) =>
      createMessage({
        type: 'bench_step',
        source: '/bench',
        subject: `order-${i}`,
        data: { n: 0 },
      }),
    ),
  );
  await sleep(warmupSeconds * 1000);
  measuring = true;
  const started = performance.now();
  await sleep(seconds * 1000);
  measuring = false;
  const elapsed = (performance.now() - started) / 1000;
  await consumer.stop();
  await relay.stop();
  return summarise(steps, elapsed, latencies);
}

/** Raw database limit: the step's three statements in one transaction, no broker. */
export async function runRawTransactions(
  db: Database,
  { concurrency, seconds }: { concurrency: number; seconds: number },
): Promise<StepResult> {
  await db.query(`${stateTable};
    create table if not exists raw_inbox (consumer text, message_id text, primary key (consumer, message_id));
    create table if not exists raw_outbox (seq bigserial primary key, id text unique, message jsonb)`);
  const latencies: number[] = [];
  let count = 0;
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      for (let i = 0; performance.now() < deadline; i += 1) {
        const message = createMessage({
          type: 'bench_step',
          source: '/raw',
          subject: `o-${worker}-${i % 100}`,
          data: { n: i },
        });
        const t0 = performance.now();
        await db.transaction(async (tx) => {
          await tx.query(
            sql`insert into raw_inbox values ('raw', ${message.id}) on conflict do nothing`,
          );
          await tx.query(
            sql`insert into bench_state (order_id, step) values (${message.subject}, ${i})
                on conflict (order_id) do update set step = excluded.step, updated_at = now()`,
          );
          await tx.query(
            sql`insert into raw_outbox (id, message) values (${message.id}, ${JSON.stringify(message)}::jsonb)`,
          );
        });
        latencies.push(performance.now() - t0);
        count += 1;
      }
    }),
  );
  return summarise(count, (performance.now() - started) / 1000, latencies);
}

function measuredAcks(broker: Broker, onAck: (latencyMs: number) => void): Broker {
  return {
    publish: (messages) => broker.publish(messages),
    pending: (group, types) => broker.pending(group, types),
    close: () => broker.close(),
    subscribe: (subscription, handler) =>
      broker.subscribe(subscription, (delivery) => {
        const wrapped: Delivery = {
          body: delivery.body,
          attempt: delivery.attempt,
          retry: (ms) => delivery.retry(ms),
          reject: () => delivery.reject(),
          working: () => delivery.working(),
          ack: async () => {
            await delivery.ack();
            onAck(Date.now() - Date.parse((delivery.body as Message).time));
          },
        };
        return handler(wrapped);
      }),
  };
}

export function summarise(count: number, seconds: number, latencies: number[]): StepResult {
  const sorted = latencies.sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return {
    steps: count,
    seconds,
    stepsPerSecond: count / seconds,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
  };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
