import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Broker } from '@cads/messaging';
import { createNatsBroker } from '@cads/messaging-nats';
import { createPostgresBroker } from '@cads/messaging-postgres';
import type { Database } from '@cads/storage';
import { openPglite } from '@cads/storage-pglite';
import { openPostgresDatabase } from '@cads/storage-postgres';
import { createTestDatabase, natsUrl } from '@cads/testing';

/** One storage + broker combination under test, built fresh and torn down after. */
export interface Setup {
  readonly db: Database;
  readonly broker: Broker;
  /** Transactions the runtime may run at once, and deliveries per transaction. */
  readonly concurrency: number;
  readonly batchSize: number;
  dispose(): Promise<void>;
}

export interface Scenario {
  readonly id: 'a' | 'b' | 'c';
  readonly label: string;
  readonly open: () => Promise<Setup>;
  /** A database of the same kind, for the raw transaction limit. */
  readonly openRawDb: () => Promise<{
    db: Database;
    concurrency: number;
    dispose(): Promise<void>;
  }>;
}

async function pgliteOnDisk() {
  const dir = await mkdtemp(join(tmpdir(), 'cads-bench-'));
  const host = await openPglite({ dataDir: dir });
  const dispose = async () => {
    await host.close();
    await rm(dir, { recursive: true, force: true });
  };
  return { host, dispose };
}

async function postgresDatabase(schema: string, max = 10) {
  const database = await createTestDatabase('cads_bench');
  const db = await openPostgresDatabase({
    connectionString: database.url,
    schema,
    maxConnections: max,
  });
  return { database, db };
}

async function postgresRawDb() {
  const { database, db } = await postgresDatabase('bench');
  const dispose = async () => {
    await db.close();
    await database.drop();
  };
  return { db, concurrency: 8, dispose };
}

export const scenarios: readonly Scenario[] = [
  {
    id: 'a',
    label: 'PGlite + Postgres log',
    async open() {
      const { host, dispose } = await pgliteOnDisk();
      const db = await host.database('bench');
      const broker = await createPostgresBroker({ db: await host.database('cads_broker') });
      return {
        db,
        broker,
        concurrency: 2,
        batchSize: 64,
        async dispose() {
          await broker.close();
          await dispose();
        },
      };
    },
    async openRawDb() {
      const { host, dispose } = await pgliteOnDisk();
      return { db: await host.database('bench'), concurrency: 1, dispose };
    },
  },
  {
    id: 'b',
    label: 'PostgreSQL + Postgres log',
    async open() {
      const { database, db } = await postgresDatabase('bench');
      const brokerDb = await openPostgresDatabase({
        connectionString: database.url,
        schema: 'cads_broker',
        maxConnections: 6,
      });
      const broker = await createPostgresBroker({ db: brokerDb });
      return {
        db,
        broker,
        concurrency: 6,
        batchSize: 32,
        async dispose() {
          await broker.close();
          await brokerDb.close();
          await db.close();
          await database.drop();
        },
      };
    },
    openRawDb: postgresRawDb,
  },
  {
    id: 'c',
    label: 'PostgreSQL + JetStream',
    async open() {
      const { database, db } = await postgresDatabase('bench');
      const tag = `bench${Date.now().toString(36)}`;
      const broker = await createNatsBroker({
        servers: natsUrl,
        stream: tag.toUpperCase(),
        subjectPrefix: tag,
      });
      return {
        db,
        broker,
        concurrency: 6,
        batchSize: 32,
        async dispose() {
          await broker.deleteStream();
          await broker.close();
          await db.close();
          await database.drop();
        },
      };
    },
    openRawDb: postgresRawDb,
  },
];
