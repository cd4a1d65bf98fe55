import { createPostgresBroker } from '@cads/messaging-postgres';
import type { Database } from '@cads/storage';
import { openPostgresDatabase } from '@cads/storage-postgres';
import {
  createTestDatabase,
  postgresSkipReason,
  postgresUrl,
  type TestDatabase,
} from '@cads/testing';
import { waitFor } from '@cads/messaging/testing';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createService, type Service } from './service.ts';

const skip = await postgresSkipReason();

describe.skipIf(skip !== undefined)(
  `a service's readiness on PostgreSQL${skip ? ` (skipped: ${skip})` : ''}`,
  () => {
    let database: TestDatabase;
    let db: Database;
    let service: Service;
    let closeBroker: () => Promise<void>;

    /** Sets the database's default read-only mode and drops its connections, so it applies. */
    const setReadOnly = async (readOnly: boolean) => {
      const admin = new pg.Client({ connectionString: postgresUrl });
      await admin.connect();
      try {
        await admin.query(
          `alter database "${database.name}" set default_transaction_read_only = ${readOnly ? 'on' : 'off'}`,
        );
        await admin.query(
          'select pg_terminate_backend(pid) from pg_stat_activity where datname = $1',
          [database.name],
        );
      } finally {
        await admin.end();
      }
    };
    const ready = async () =>
      (await service.app.inject({ method: 'GET', url: '/ready' })).statusCode;

    beforeAll(async () => {
      database = await createTestDatabase('cads_ready');
      db = await openPostgresDatabase({ connectionString: database.url });
      const broker = await createPostgresBroker({ db });
      closeBroker = () => broker.close();
      service = await createService(
        { name: 'probe' },
        { db, broker, logger: pino({ level: 'silent' }) },
      );
      await service.start();
    });
    afterAll(async () => {
      await service?.stop();
      await closeBroker?.();
      await db?.close();
      await database?.drop();
    });

    it('is ready only while its database takes writes: not while it is read-only', async () => {
      expect(await ready()).toBe(200);
      await setReadOnly(true);
      // Reads still work; a check that only read would call this ready.
      await waitFor('a read on a new connection', async () =>
        db.query('select 1').then(
          () => true,
          () => false,
        ),
      );
      await waitFor('not ready', async () => (await ready()) === 503, { timeoutMs: 15_000 });
      await setReadOnly(false);
      await waitFor('ready again', async () => (await ready()) === 200, { timeoutMs: 15_000 });
    });
  },
);
