import type { HandlerContext } from '@cads/consumer';
import { createMessage, silentLogger } from '@cads/messaging';
import { waitFor } from '@cads/messaging/testing';
import { type Database, loadMigrations, migrate, type Transaction } from '@cads/storage';
import { openPostgresDatabase } from '@cads/storage-postgres';
import { createTestDatabase, postgresSkipReason, type TestDatabase } from '@cads/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orderTracker } from '../order-tracker.ts';
import { listOrderEvents } from '../store/order-events.ts';
import { insertOrder, readOrderStatus } from '../store/orders.ts';
import { recordOutcome } from './on-outcome.ts';

const skip = await postgresSkipReason();

type OutcomeData = { orderId: string; userId: string } & Record<string, unknown>;

const context = (tx: Transaction): HandlerContext => ({
  tx,
  emit: () => {
    throw new Error('recording an outcome emits nothing');
  },
  log: silentLogger,
  attempt: 1,
});

// On PGlite every transaction runs alone; only a server shows two instances recording events
// of one order at once, each in its own transaction on its own connection.
describe.skipIf(skip !== undefined)(
  `outcomes of one order recorded concurrently on PostgreSQL${skip ? ` (skipped: ${skip})` : ''}`,
  () => {
    let server: TestDatabase;
    let db: Database;

    beforeAll(async () => {
      server = await createTestDatabase('cads_order');
      db = await openPostgresDatabase({ connectionString: server.url, schema: 'order' });
      await migrate(
        db,
        'order',
        await loadMigrations(new URL('../../migrations/', import.meta.url)),
      );
    });
    afterAll(async () => {
      await db?.close();
      await server?.drop();
    });

    const placeOrder = async (orderId: string, userId: string) => {
      const createdAt = new Date();
      await db.transaction((tx) =>
        insertOrder(
          tx,
          { orderId, userId, restaurantId: 'r1', cart: [], priceCents: 100, status: 0, createdAt },
          {
            id: `${orderId}-created`,
            type: 'order_created',
            time: createdAt.toISOString(),
            data: { orderId, userId, status: 0 },
          },
        ),
      );
    };
    const outcome = (type: string, order: { orderId: string; userId: string }, extra = {}) =>
      createMessage<OutcomeData>({
        type,
        source: '/cads/test',
        subject: order.orderId,
        data: { ...order, ...extra },
      });
    const lockWaiters = async () => {
      const { rows } = await db.query<{ n: number }>(
        `select count(*)::int as n from pg_stat_activity
         where datname = current_database() and wait_event_type = 'Lock'`,
      );
      return rows[0]?.n ?? 0;
    };

    it('folds an event committed while the second one waited for the order lock', async () => {
      const order = { orderId: 'order-race', userId: 'user-race' };
      await placeOrder(order.orderId, order.userId);
      const cancelled = outcome('rider_cancelled', order, { riderCancellationReason: 'none' });
      const paid = outcome('payment_done', order, { receiptId: 'r', amountCents: 100 });

      let release = () => {};
      const held = new Promise<void>((resolve) => (release = resolve));
      let firstRecorded = false;
      const first = db.transaction(async (tx) => {
        await recordOutcome(cancelled, context(tx), orderTracker());
        firstRecorded = true;
        await held;
      });
      await waitFor('the first event recorded, its transaction open', () => firstRecorded);
      // The second statement starts (and takes its snapshot) before the first one commits.
      const second = db.transaction((tx) => recordOutcome(paid, context(tx), orderTracker()));
      await waitFor(
        'the second waiting for the order lock',
        async () => (await lockWaiters()) === 1,
      );
      release();
      await Promise.all([first, second]);

      const events = await listOrderEvents(db, order.orderId);
      expect(events.map((event) => event.type).sort()).toEqual([
        'order_created',
        'payment_done',
        'rider_cancelled',
      ]);
      // A payment after a cancellation never completes the order.
      expect(await readOrderStatus(db, order.orderId)).toBe(5);
    });
  },
);
