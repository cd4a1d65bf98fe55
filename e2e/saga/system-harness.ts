import { randomUUID } from 'node:crypto';
import {
  type RunningSystem,
  serviceNames,
  startSystem,
  type SystemOptions,
} from '@cads/cli/system';
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
  type TestDatabase,
  testInternalSecret,
} from '@cads/testing';
import pino from 'pino';

export const adminToken = 'test-admin-token';
export const sessionSecret = 'test-session-secret-0123456789abcdef';
/** The internal secret of the systems these suites start (signs their service tokens). */
export const internalSecret = testInternalSecret;

export interface SystemUnderTest {
  readonly system: RunningSystem;
  dispose(): Promise<void>;
}

/** What a suite may set of the system besides its storage and broker (e.g. a short deadline). */
export type SystemTuning = Pick<SystemOptions, 'sagaDeadlineMs'>;

/** The whole system in this process, on each storage/broker combination it supports. */
export async function systemVariants(): Promise<
  Array<{
    name: string;
    skip: string | undefined;
    start: (tuning?: SystemTuning) => Promise<SystemUnderTest>;
  }>
> {
  const postgres = await postgresSkipReason();
  const nats = await natsSkipReason();
  return [
    { name: 'embedded: PGlite + Postgres log', skip: undefined, start: startEmbeddedSystem },
    {
      name: 'distributed: PostgreSQL per service + JetStream',
      skip: postgres ?? nats,
      start: startDistributedSystem,
    },
  ];
}

const logger = pino({ level: process.env.CADS_TEST_LOG_LEVEL ?? 'silent' });

async function startEmbeddedSystem(tuning: SystemTuning = {}): Promise<SystemUnderTest> {
  const host = await openPglite();
  const broker = await createPostgresBroker({
    db: await host.database('cads_broker'),
    pollIntervalMs: 200,
  });
  const system = await startSystem({
    databaseFor: (service) => host.database(service),
    broker,
    logger,
    adminToken,
    sessionSecret,
    internalSecret: testInternalSecret,
    ...tuning,
  });
  return {
    system,
    async dispose() {
      await system.stop();
      await broker.close();
      await host.close();
    },
  };
}

async function startDistributedSystem(tuning: SystemTuning = {}): Promise<SystemUnderTest> {
  const created: TestDatabase[] = [];
  const opened: Database[] = [];
  const tag = `saga${randomUUID().slice(0, 8)}`;
  const broker = await createNatsBroker({
    servers: natsUrl,
    stream: tag.toUpperCase(),
    subjectPrefix: tag,
  });
  const system = await startSystem({
    async databaseFor(service) {
      const database = await createTestDatabase(`cads_${service}`);
      created.push(database);
      const db = await openPostgresDatabase({ connectionString: database.url });
      opened.push(db);
      return db;
    },
    broker,
    logger,
    adminToken,
    sessionSecret,
    internalSecret: testInternalSecret,
    ...tuning,
  });
  return {
    system,
    async dispose() {
      await system.stop();
      await broker.deleteStream();
      await broker.close();
      for (const db of opened) await db.close();
      for (const database of created) await database.drop();
    },
  };
}

export { serviceNames };
