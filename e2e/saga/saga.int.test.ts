import { randomUUID } from 'node:crypto';
import { listDeadLetters } from '@cads/consumer';
import { createMessage } from '@cads/messaging';
import { waitFor } from '@cads/messaging/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  noDelays,
  sagaClient,
  seedOrder,
  seedOrderCents,
  seedOutcomes as outcomes,
} from './saga-client.ts';
import { type SystemUnderTest, systemVariants } from './system-harness.ts';

for (const variant of await systemVariants()) {
  describe.skipIf(variant.skip !== undefined)(
    `the saga, ${variant.name}${variant.skip ? ` (skipped: ${variant.skip})` : ''}`,
    () => {
      let sut: SystemUnderTest;
      let client: ReturnType<typeof sagaClient>;
      beforeAll(async () => {
        sut = await variant.start();
        client = sagaClient(sut.system);
        await client.configure(noDelays);
      }, 120_000);
      afterAll(async () => {
        await sut?.dispose();
      });

      for (const outcome of outcomes) {
        it(`${outcome.name}: every service ends in its state, the bank's ledger agrees`, async () => {
          const userId = `u-${randomUUID().slice(0, 8)}`;
          await client.configure(outcome.config, `user:${userId}`);
          const response = await client.placeOrder(userId);
          expect(response.status).toBe(202);
          const { orderId } = (await response.json()) as { orderId: string };
          await client.settles(orderId, outcome.states);

          // The order service hears of the last compensation a moment after it is committed.
          const order = await waitFor('the order timeline to hold every outcome', async () => {
            const current = await client.order(orderId);
            const seen = current.timeline.map((event) => event.type);
            return outcome.timeline.every((type) => seen.includes(type)) && current;
          });
          const types = order.timeline.map((event) => event.type);
          expect(types.filter((type) => !outcome.timeline.includes(type as never))).toEqual([
            'order_created',
          ]);
          expect(types.filter((type) => type.endsWith('_cancelled'))).toHaveLength(
            outcome.states[3] === 5 ? 1 : 0,
          );
          if ('reason' in outcome) expect(JSON.stringify(order)).toContain(outcome.reason);

          const ledger = await client.ledger(orderId);
          const charges = ledger.filter((entry) => entry.kind === 'charge');
          if (outcome.states[2] === 0) {
            expect(charges).toEqual([expect.objectContaining({ amountCents: seedOrderCents })]);
          } else {
            expect(charges).toEqual([]);
          }
          if (outcome.states[0] === 5) {
            expect((await client.reservations(orderId)).map((r) => r.status)).toEqual(['released']);
          }
          if (outcome.states[1] === 5) {
            expect((await client.assignments(orderId)).map((r) => r.status)).toEqual(['released']);
          }
        });
      }

      it('rejects invalid orders with a reason and accepts nothing from them', async () => {
        const userId = `u-${randomUUID().slice(0, 8)}`;
        const bad = [
          { restaurantId: 'nope', cart: seedOrder.cart },
          { restaurantId: seedOrder.restaurantId, cart: [{ itemId: 'zz9', amount: 1 }] },
          { restaurantId: seedOrder.restaurantId, cart: [] },
          { restaurantId: seedOrder.restaurantId, cart: [{ itemId: 'p01', amount: 0 }] },
          { restaurantId: seedOrder.restaurantId, cart: [{ itemId: 'p01', amount: 51 }] },
          { ...seedOrder, extra: true },
        ];
        for (const body of bad) {
          const response = await client.placeOrder(userId, body);
          expect(response.status).toBe(400);
          const problem = (await response.json()) as { detail?: string };
          expect(problem.detail ?? '').not.toBe('');
        }
      });

      it('externals answering 503 twice then 201 make every step succeed once', async () => {
        const userId = `u-${randomUUID().slice(0, 8)}`;
        const flaky = { post: { failFirst: [503, 503] } };
        await client.configure(
          { restaurant: flaky, rider: flaky, payment: flaky },
          `user:${userId}`,
        );
        const { orderId } = (await (await client.placeOrder(userId)).json()) as { orderId: string };
        await client.settles(orderId, [0, 0, 0, 2]);
        expect((await client.ledger(orderId)).filter((e) => e.kind === 'charge')).toHaveLength(1);
        expect(await client.reservations(orderId)).toHaveLength(1);
      });

      it('externals down for good: the step cancels with a reason and compensations run', async () => {
        const userId = `u-${randomUUID().slice(0, 8)}`;
        await client.configure(
          { payment: { post: { response: 503, reason: 'bank offline' } } },
          `user:${userId}`,
        );
        const { orderId } = (await (await client.placeOrder(userId)).json()) as { orderId: string };
        await client.settles(orderId, [5, 5, 4, 5]);
        expect(JSON.stringify(await client.order(orderId))).toContain('bank offline');
        expect(await client.ledger(orderId)).toEqual([]);
      });

      it('an invalid event lands in dead letters with its reason while other orders complete', async () => {
        const orderId = randomUUID();
        // A faulty producer, simulated by publishing straight to the broker: the order service
        // itself would never emit this.
        const poison = createMessage({
          type: 'order_created',
          source: '/test',
          subject: orderId,
          data: { orderId, userId: 'x', restaurantId: '48hbfe4', cart: 'not a cart', status: 0 },
        });
        await sut.system.broker.publish([poison]);
        const userId = `u-${randomUUID().slice(0, 8)}`;
        const { orderId: good } = (await (await client.placeOrder(userId)).json()) as {
          orderId: string;
        };
        await client.settles(good, [0, 0, 0, 2]);
        const letters = await waitFor('the dead letter', async () => {
          const found = (await listDeadLetters(sut.system.databases.restaurant)).filter(
            (letter) => letter.subject === orderId,
          );
          return found.length > 0 && found;
        });
        expect(letters).toHaveLength(1);
        expect(letters[0]).toMatchObject({ reason: 'invalid_payload', type: 'order_created' });
        expect(letters[0]?.errorMessage).toContain('cart');
      });

      it('200 concurrent orders with mixed outcomes all reach their final states', async () => {
        const users = outcomes.map((outcome) => ({
          outcome,
          userId: `load-${randomUUID().slice(0, 8)}`,
        }));
        for (const { outcome, userId } of users)
          await client.configure(outcome.config, `user:${userId}`);
        const placed = await Promise.all(
          Array.from({ length: 200 }, async (_, i) => {
            const { outcome, userId } = users[i % users.length]!;
            const response = await client.placeOrder(userId);
            const { orderId } = (await response.json()) as { orderId: string };
            return { orderId, expected: outcome.states };
          }),
        );
        for (const { orderId, expected } of placed) await client.settles(orderId, expected, 90_000);
      }, 180_000);
    },
  );
}
