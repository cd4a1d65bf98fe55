import { readdir } from 'node:fs/promises';
import { createMessage, type Message } from '@cads/messaging';
import { describeBrokerContract, waitFor } from '@cads/messaging/testing';
import type { Database, SqlStatement } from '@cads/storage';
import { openPostgresDatabase } from '@cads/storage-postgres';
import { createTestDatabase, postgresSkipReason } from '@cads/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeBrokerScenarios } from './broker-scenarios.ts';
import { createPostgresBroker } from './postgres-broker.ts';

const skip = await postgresSkipReason();

/** A throw-away database; every `open` is a separate pool, as another process would have. */
async function serverHarness() {
  const database = await createTestDatabase('cads_broker_test');
  const opened: Database[] = [];
  return {
    database,
    async open(schema = 'cads_broker', maxConnections = 4) {
      const db = await openPostgresDatabase({
        connectionString: database.url,
        schema,
        maxConnections,
      });
      opened.push(db);
      return db;
    },
    async dispose() {
      for (const db of opened.splice(0)) await db.close();
      await database.drop();
    },
  };
}

describeBrokerContract(
  'Postgres log on a PostgreSQL server',
  async () => {
    const harness = await serverHarness();
    return {
      connect: async () => createPostgresBroker({ db: await harness.open() }),
      dispose: () => harness.dispose(),
    };
  },
  { skip },
);

describeBrokerScenarios('PostgreSQL server', serverHarness, { skip });

describe.skipIf(skip !== undefined)('Postgres log on a PostgreSQL server: commit order', () => {
  let harness: Awaited<ReturnType<typeof serverHarness>>;
  beforeAll(async () => {
    harness = await serverHarness();
  });
  afterAll(async () => {
    await harness?.dispose();
  });

  it('migrates once when several processes start together', async () => {
    const schema = `broker_${Date.now().toString(36)}`;
    const first = await harness.open(schema);
    const dbs = [first, await harness.open(schema), await harness.open(schema)];
    const brokers = await Promise.all(dbs.map((db) => createPostgresBroker({ db })));
    const { rows } = await first.query<{ version: number }>(
      "select version from cads_migrations where component = 'cads.broker' order by version",
    );
    // Each migration recorded once: a second applier would have failed on its create statements.
    const files = (await readdir(new URL('../migrations/', import.meta.url))).sort();
    expect(rows.map((row) => row.version)).toEqual(files.map((file) => Number(file.slice(0, 3))));
    for (const broker of brokers) await broker.close();
  });

  /**
   * Publishes through a transaction that sleeps a random while after the log insert, so
   * writers commit in a different order than they start: with positions from a plain sequence
   * the reader would pass an uncommitted writer's position and never see its message.
   */
  const slowToCommit = (db: Database): Database => ({
    ...db,
    query<Row>(statement: SqlStatement | string, values?: readonly unknown[]) {
      const text = typeof statement === 'string' ? statement : statement.text;
      if (!text.includes('broker_publish(')) return db.query<Row>(statement, values);
      return db.transaction(async (tx) => {
        const result = await tx.query<Row>(statement, values);
        await tx.query('select pg_sleep(random() * 0.01)');
        return result;
      });
    },
  });

  it('delivers every message of many concurrent, slow-to-commit writers', async () => {
    // Opened one after another: concurrent `create schema if not exists` can collide.
    const writers = [];
    for (let w = 0; w < 8; w += 1) {
      writers.push(
        await createPostgresBroker({ db: slowToCommit(await harness.open('cads_broker', 2)) }),
      );
    }
    const reader = await createPostgresBroker({ db: await harness.open(), pollIntervalMs: 20 });
    try {
      const type = 'commit_order';
      const received = new Set<string>();
      await reader.subscribe(
        { group: 'reader', types: [type], mode: 'competing', maxInFlight: 256 },
        async (delivery) => {
          received.add((delivery.body as Message).id);
          await delivery.ack();
        },
      );
      const sent: string[] = [];
      // 8 writer processes (one publish in flight each, as publishes coalesce per broker) × 4
      // concurrent publishers × 10 batches of 3, while the reader fetches all along.
      await Promise.all(
        writers.flatMap((writer, w) =>
          Array.from({ length: 4 }, async (_, p) => {
            for (let batch = 0; batch < 10; batch += 1) {
              const messages = Array.from({ length: 3 }, (_, n) =>
                createMessage({
                  type,
                  source: '/writer',
                  subject: `w${w}-p${p}`,
                  data: { batch, n },
                }),
              );
              sent.push(...messages.map((m) => m.id));
              await writer.publish(messages);
            }
          }),
        ),
      );
      await waitFor(`all ${sent.length} messages`, () => sent.every((id) => received.has(id)), {
        timeoutMs: 10_000,
      }).catch(() => undefined);
      const missing = sent.filter((id) => !received.has(id));
      expect(missing).toEqual([]);
      expect(received.size).toBe(sent.length);
    } finally {
      await reader.close();
      for (const writer of writers) await writer.close();
    }
  });
});
