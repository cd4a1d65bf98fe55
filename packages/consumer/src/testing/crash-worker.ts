/**
 * A disposable service process for the crash tests: a consumer that records an effect and emits
 * an event, its relay, and a downstream consumer of that event. The test kills it with SIGKILL
 * at random moments and starts it again; SIGTERM stops it gracefully.
 *
 * Environment: CRASH_DATABASE_URL, CRASH_TAG, CRASH_BROKER (`postgres` | `nats`), and for NATS
 * CRASH_NATS_URL, CRASH_STREAM, CRASH_PREFIX.
 */
import type { Broker, Message } from '@cads/messaging';
import { createNatsBroker } from '@cads/messaging-nats';
import { createPostgresBroker } from '@cads/messaging-postgres';
import { sql, type Database, type Transaction } from '@cads/storage';
import { openPostgresDatabase } from '@cads/storage-postgres';
import Type from 'typebox';
import { createConsumer } from '../consumer.ts';
import { on } from '../handler.ts';
import { createOutboxRelay } from '../outbox-relay.ts';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};

const Data = Type.Object({ n: Type.Integer() });
const url = env('CRASH_DATABASE_URL');
const tag = env('CRASH_TAG');

async function recordEffect(tx: Transaction, message: Message<{ n: number }>) {
  await tx.query(
    sql`insert into effects (subject, count) values (${message.subject}, 1)
        on conflict (subject) do update set count = effects.count + 1`,
  );
}

async function openBroker(): Promise<{ broker: Broker; brokerDb?: Database }> {
  if (env('CRASH_BROKER') === 'nats') {
    const broker = await createNatsBroker({
      servers: env('CRASH_NATS_URL'),
      stream: env('CRASH_STREAM'),
      subjectPrefix: env('CRASH_PREFIX'),
    });
    return { broker };
  }
  const brokerDb = await openPostgresDatabase({ connectionString: url, schema: 'cads_broker' });
  return { broker: await createPostgresBroker({ db: brokerDb, pollIntervalMs: 100 }), brokerDb };
}

const service = await openPostgresDatabase({ connectionString: url, schema: `${tag}_svc` });
const sink = await openPostgresDatabase({ connectionString: url, schema: `${tag}_sink` });
const { broker, brokerDb } = await openBroker();
const relay = createOutboxRelay({
  db: service,
  broker,
  source: tag,
  pollIntervalMs: 50,
  leaseMs: 1_500,
});
const work = createConsumer({
  name: `${tag}_svc`,
  source: `/${tag}`,
  db: service,
  broker,
  relay,
  ackTimeoutMs: 2_000,
  batchSize: 4,
  concurrency: 2,
  handlers: {
    [`${tag}_created`]: on(Data, async (message, { tx, emit }) => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      await recordEffect(tx, message);
      emit({ type: `${tag}_reserved`, data: message.data });
    }),
  },
});
const downstream = createConsumer({
  name: `${tag}_sink`,
  source: `/${tag}-sink`,
  db: sink,
  broker,
  ackTimeoutMs: 2_000,
  handlers: { [`${tag}_reserved`]: on(Data, (message, { tx }) => recordEffect(tx, message)) },
});

await relay.start();
await work.start();
await downstream.start();
process.stdout.write('ready\n');

process.once('SIGTERM', () => {
  void (async () => {
    await work.stop();
    await downstream.stop();
    await relay.stop();
    await broker.close();
    await brokerDb?.close();
    await service.close();
    await sink.close();
    process.stdout.write('stopped\n');
    process.exitCode = 0;
  })();
});
