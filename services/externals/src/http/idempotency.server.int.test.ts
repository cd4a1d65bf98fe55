import { randomUUID } from 'node:crypto';
import { createPostgresBroker } from '@cads/messaging-postgres';
import { createService, type Service } from '@cads/service';
import type { Database } from '@cads/storage';
import { openPostgresDatabase } from '@cads/storage-postgres';
import {
  createTestDatabase,
  postgresSkipReason,
  type TestDatabase,
  testCredentials,
  testInternalSecret,
} from '@cads/testing';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LedgerEntry } from '../contracts/api.ts';
import { externalsService } from '../app.ts';
import { admin, adminToken, newOrder, zeroDelays } from '../testing/externals-harness.ts';

const skip = await postgresSkipReason();

// On PGlite every transaction runs alone; only a server shows that concurrent calls with one
// key, arriving at two instances over separate connections, still have one effect.
describe.skipIf(skip !== undefined)(
  `idempotency on PostgreSQL with two instances${skip ? ` (skipped: ${skip})` : ''}`,
  () => {
    let server: TestDatabase;
    const databases: Database[] = [];
    const instances: Service[] = [];
    let closeBroker: () => Promise<void> = () => Promise.resolve();

    beforeAll(async () => {
      server = await createTestDatabase('cads_externals');
      const open = async (schema: string) => {
        const db = await openPostgresDatabase({ connectionString: server.url, schema });
        databases.push(db);
        return db;
      };
      const broker = await createPostgresBroker({ db: await open('cads_broker') });
      closeBroker = () => broker.close();
      const logger = pino({ level: 'silent' });
      for (let n = 0; n < 2; n += 1) {
        const service = await createService(
          externalsService({ adminToken, internalSecret: testInternalSecret }),
          {
            db: await open('externals'),
            broker,
            logger,
          },
        );
        await service.start();
        instances.push(service);
      }
      const configured = await instances[0]?.app.inject({
        method: 'POST',
        url: '/api/config',
        headers: admin,
        payload: zeroDelays,
      });
      expect(configured?.statusCode).toBe(202);
    });

    afterAll(async () => {
      for (const instance of instances) await instance.stop();
      await closeBroker();
      for (const db of databases) await db.close();
      await server?.drop();
    });

    const caller = testCredentials('payment');
    const call = async (n: number, method: 'POST' | 'DELETE', body: object, key: string) =>
      instances[n % instances.length]!.app.inject({
        method,
        url: '/api/payment',
        headers: { 'idempotency-key': key, authorization: await caller.authorization('externals') },
        payload: body,
      });

    const ledgerOf = async (orderId: string) => {
      const response = await instances[0]!.app.inject({
        url: `/api/payment/ledger?orderId=${orderId}`,
        headers: admin,
      });
      return response.json<LedgerEntry[]>();
    };

    it('concurrent charges with one key on two instances book one charge', async () => {
      const order = newOrder();
      const key = randomUUID();
      const answers = await Promise.all(
        Array.from({ length: 10 }, (_, n) => call(n, 'POST', { ...order, amountCents: 4200 }, key)),
      );
      expect(answers.map((answer) => answer.statusCode)).toEqual(Array(10).fill(201));
      expect(new Set(answers.map((answer) => answer.body)).size).toBe(1);
      expect(await ledgerOf(order.orderId)).toHaveLength(1);
    });

    it('concurrent refunds with different keys refund the charge once', async () => {
      const order = newOrder();
      await call(0, 'POST', { ...order, amountCents: 4200 }, randomUUID());
      const answers = await Promise.all(
        Array.from({ length: 6 }, (_, n) => call(n, 'DELETE', order, randomUUID())),
      );
      expect(answers.map((answer) => answer.statusCode)).toEqual(Array(6).fill(204));
      const ledger = await ledgerOf(order.orderId);
      expect(ledger.map((entry) => [entry.kind, entry.amountCents])).toEqual([
        ['charge', 4200],
        ['refund', 4200],
      ]);
    });
  },
);
