import { randomUUID } from 'node:crypto';
import { createNatsBroker } from '@cads/messaging-nats';
import { createPostgresBroker } from '@cads/messaging-postgres';
import type { Database } from '@cads/storage';
import { openPglite } from '@cads/storage-pglite';
import { openPostgresDatabase } from '@cads/storage-postgres';
import {
  createTestDatabase,
  natsSkipReason,
  natsUrl,
  postgresSkipReason,
  uniqueName,
} from '@cads/testing';
import type { RuntimeHarness } from './runtime-harness.ts';

/** The three combinations the runtime must work on, with why one is skipped. */
export async function runtimeHarnesses(): Promise<
  Array<{ name: string; skip: string | undefined; setup: () => Promise<RuntimeHarness> }>
> {
  const postgres = await postgresSkipReason();
  const nats = await natsSkipReason();
  return [
    { name: 'PGlite + Postgres log', skip: undefined, setup: pgliteHarness },
    { name: 'PostgreSQL + Postgres log', skip: postgres, setup: postgresHarness },
    { name: 'PostgreSQL + JetStream', skip: postgres ?? nats, setup: natsHarness },
  ];
}

async function pgliteHarness(): Promise<RuntimeHarness> {
  const host = await openPglite();
  const brokerDb = await host.database('cads_broker');
  return {
    openDb: (schema) => host.database(schema),
    connectBroker: () => createPostgresBroker({ db: brokerDb, pollIntervalMs: 200 }),
    dispose: () => host.close(),
  };
}

async function postgresHarness(): Promise<RuntimeHarness> {
  const database = await createTestDatabase('cads_consumer');
  const brokerDbs: Database[] = [];
  return {
    openDb: (schema) => openPostgresDatabase({ connectionString: database.url, schema }),
    async connectBroker() {
      const db = await openPostgresDatabase({
        connectionString: database.url,
        schema: 'cads_broker',
      });
      brokerDbs.push(db);
      const broker = await createPostgresBroker({ db, pollIntervalMs: 200 });
      return {
        publish: (messages) => broker.publish(messages),
        subscribe: (subscription, handler) => broker.subscribe(subscription, handler),
        pending: (group, types) => broker.pending(group, types),
        async close() {
          await broker.close();
          await db.close();
        },
      };
    },
    dispose: () => database.drop(),
  };
}

async function natsHarness(): Promise<RuntimeHarness> {
  const database = await createTestDatabase('cads_consumer');
  const stream = uniqueName('CONSUMER').toUpperCase();
  const subjectPrefix = `t${randomUUID().slice(0, 8)}`;
  const brokers: Broker[] = [];
  return {
    openDb: (schema) => openPostgresDatabase({ connectionString: database.url, schema }),
    async connectBroker() {
      const broker = await createNatsBroker({ servers: natsUrl, stream, subjectPrefix });
      brokers.push(broker);
      return broker;
    },
    async dispose() {
      const cleaner = await createNatsBroker({ servers: natsUrl, stream, subjectPrefix });
      await cleaner.deleteStream();
      await cleaner.close();
      await database.drop();
    },
  };
}

type Broker = Awaited<ReturnType<RuntimeHarness['connectBroker']>>;
