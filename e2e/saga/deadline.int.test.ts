import { testCredentials } from '@cads/testing';
import { randomUUID } from 'node:crypto';
import { waitFor } from '@cads/messaging/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectReconciled } from '../faults/saga-checks.ts';
import { noDelays, sagaClient } from './saga-client.ts';
import { type SystemUnderTest, systemVariants } from './system-harness.ts';

/** Short enough for a test, long enough for a saga without delays to end well before it. */
const deadlineMs = 3_000;
/** Reads the notifications as the BFF does, for the user. */
const bff = testCredentials('bff');
/**
 * A step that answers this late answers after the deadline (and within one HTTP attempt's
 * 5 s limit, so the answer is heard).
 */
const lateMs = 4_500;

/**
 * The saga's deadline, end to end: an order whose step answers after the deadline is failed as
 * timed out by the order service, the steps that succeeded (before or after it) undo their
 * success, the late ones never act, the user is notified once, and the bank's ledger, the
 * restaurants' and the riders' systems agree.
 */
for (const variant of await systemVariants()) {
  describe.skipIf(variant.skip !== undefined)(
    `the saga's deadline, ${variant.name}${variant.skip ? ` (skipped: ${variant.skip})` : ''}`,
    () => {
      let sut: SystemUnderTest;
      let client: ReturnType<typeof sagaClient>;
      beforeAll(async () => {
        sut = await variant.start({ sagaDeadlineMs: deadlineMs });
        client = sagaClient(sut.system);
        await client.configure(noDelays);
      }, 120_000);
      afterAll(async () => {
        await sut?.dispose();
      });

      const placeFor = async (config: unknown) => {
        const userId = `u-${randomUUID().slice(0, 8)}`;
        await client.configure(config, `user:${userId}`);
        const response = await client.placeOrder(userId);
        expect(response.status).toBe(202);
        const { orderId } = (await response.json()) as { orderId: string };
        return { userId, orderId };
      };
      const notifications = async (userId: string) => {
        const response = await fetch(
          `${sut.system.urls.notifications}/api/notifications?userId=${userId}`,
          { headers: { authorization: await bff.authorization('notifications', userId) } },
        );
        return (await response.json()) as { kind: string; orderId: string }[];
      };

      it('a charge after the deadline is refunded: the order stays cancelled, timed out', async () => {
        const { userId, orderId } = await placeFor({ payment: { post: { delay: lateMs } } });
        await client.settles(orderId, [5, 5, 5, 5], 60_000);
        const order = await waitFor('every undoing on the timeline', async () => {
          const current = await client.order(orderId);
          const seen = new Set(current.timeline.map((event) => event.type));
          return (
            ['restaurant_compensated', 'rider_compensated', 'payment_refunded'].every((type) =>
              seen.has(type),
            ) && current
          );
        });
        expect(order).toMatchObject({
          status: 5,
          rejection: { step: 'payment', reason: 'timed out' },
        });
        const types = order.timeline.map((event) => event.type);
        expect(types.filter((type) => type === 'order_timed_out')).toHaveLength(1);
        const ledger = await client.ledger(orderId);
        expect(ledger.map((entry) => entry.kind).sort()).toEqual(['charge', 'refund']);
        expect((await client.reservations(orderId)).map((r) => r.status)).toEqual(['released']);
        expect((await client.assignments(orderId)).map((r) => r.status)).toEqual(['released']);
        const told = await waitFor('the notification', async () => {
          const found = await notifications(userId);
          return found.length > 0 && found;
        });
        expect(told).toEqual([expect.objectContaining({ orderId, kind: 'timed_out' })]);
      }, 90_000);

      it('a reservation after the deadline is released, and the later steps never act', async () => {
        const { orderId } = await placeFor({ restaurant: { post: { delay: lateMs } } });
        await client.settles(orderId, [5, 5, 5, 5], 60_000);
        const order = await client.order(orderId);
        expect(order).toMatchObject({
          status: 5,
          rejection: { step: 'restaurant', reason: 'timed out' },
        });
        // The rider and the payment never ran: no assignment, no charge, no event of theirs.
        expect(await client.assignments(orderId)).toEqual([]);
        expect(await client.ledger(orderId)).toEqual([]);
        await waitFor('the reservation released', async () =>
          (await client.order(orderId)).timeline.some(
            (event) => event.type === 'restaurant_compensated',
          ),
        );
        const types = (await client.order(orderId)).timeline.map((event) => event.type);
        expect(types.filter((type) => /^(rider|payment)_/.test(type))).toEqual([]);
        expect((await client.reservations(orderId)).map((r) => r.status)).toEqual(['released']);
      }, 90_000);

      it('leaves every service consistent: cads reconcile finds nothing', async () => {
        await expectReconciled(sut.system.databases, 30_000);
      }, 60_000);

      it('an order that ends in time is not touched by its deadline', async () => {
        const { orderId } = await placeFor({});
        await client.settles(orderId, [0, 0, 0, 2]);
        await new Promise((resolve) => setTimeout(resolve, deadlineMs + 1_500));
        expect(await client.states(orderId)).toEqual([0, 0, 0, 2]);
        const types = (await client.order(orderId)).timeline.map((event) => event.type);
        expect(types).not.toContain('order_timed_out');
      });
    },
  );
}
