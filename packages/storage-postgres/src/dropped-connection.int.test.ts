import { isDatabaseUnavailable } from '@cads/storage';
import { createTestDatabase, postgresSkipReason, type TestDatabase } from '@cads/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgresDatabase } from './postgres-database.ts';

const skip = await postgresSkipReason();

describe.skipIf(skip !== undefined)('a connection dropped by the server', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('between two statements of a transaction fails the transaction, not the process', async () => {
    const db = await openPostgresDatabase({ connectionString: database.url, maxConnections: 2 });
    const admin = await openPostgresDatabase({ connectionString: database.url });
    try {
      const failure = db
        .transaction(async (tx) => {
          const { rows } = await tx.query<{ pid: number }>('select pg_backend_pid() as pid');
          // The server goes away while the transaction waits between statements (no query
          // running on its connection): a crash or restart of the server, a failover.
          await admin.query('select pg_terminate_backend($1)', [rows[0]!.pid]);
          await new Promise((resolve) => setTimeout(resolve, 200));
          await tx.query('select 1');
        })
        .then(
          () => undefined,
          (error: unknown) => error,
        );
      const error = await failure;
      expect(isDatabaseUnavailable(error), String(error)).toBe(true);
      // The pool replaced the broken connection.
      expect((await db.query<{ one: number }>('select 1 as one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await db.close();
      await admin.close();
    }
  });
});
