import type { OrderView } from '@cads/order/contracts';
import { waitFor } from '@cads/messaging/testing';
import type { SagaDescription } from '@cads/saga';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reconcile } from '../../apps/cli/src/reconcile.ts';
import { readReconcileSnapshot } from '../../apps/cli/src/reconcile-snapshot.ts';
import { bffBrowser } from '../live/bff-client.ts';
import { noDelays, sagaClient, seedOrder } from '../saga/saga-client.ts';
import { kitchenRefusal, kitchenSaga, uncookableItem } from './kitchen.ts';
import { type KitchenSystem, startKitchenSystem } from './kitchen-system.ts';

/**
 * The food saga with a kitchen step between the restaurant and the rider, composed from the
 * kitchen's declaration and one entry in the map, run by the unchanged services: the seed's
 * four outcomes and "kitchen refuses", through the order tracker, the BFF, the notifications
 * and reconciliation.
 */
const outcomes = [
  {
    name: 'all accept',
    config: {},
    states: {
      restaurant: 'succeeded',
      kitchen: 'succeeded',
      rider: 'succeeded',
      payment: 'succeeded',
    },
    status: 2,
    notification: 'finished',
  },
  {
    name: 'restaurant rejects',
    config: { restaurant: { post: { response: 503 } } },
    states: { restaurant: 'failed', kitchen: 'pending', rider: 'pending', payment: 'pending' },
    status: 5,
    notification: 'restaurant_rejected',
  },
  {
    name: 'kitchen refuses',
    config: {},
    cart: [...seedOrder.cart, { itemId: uncookableItem, amount: 1 }],
    states: { restaurant: 'compensated', kitchen: 'failed', rider: 'pending', payment: 'pending' },
    status: 5,
    reason: kitchenRefusal,
    notification: 'kitchen_rejected',
  },
  {
    name: 'rider rejects',
    config: { rider: { post: { response: 404 } } },
    states: {
      restaurant: 'compensated',
      kitchen: 'compensated',
      rider: 'failed',
      payment: 'pending',
    },
    status: 5,
    notification: 'rider_rejected',
  },
  {
    name: 'payment rejects',
    config: { payment: { post: { response: 402 } } },
    states: {
      restaurant: 'compensated',
      kitchen: 'compensated',
      rider: 'compensated',
      payment: 'failed',
    },
    status: 5,
    notification: 'payment_rejected',
  },
] as const;

let sut: KitchenSystem;
let client: ReturnType<typeof sagaClient>;

beforeAll(async () => {
  sut = await startKitchenSystem();
  client = sagaClient(sut.system);
  await client.configure(noDelays);
}, 120_000);

afterAll(async () => {
  await sut?.dispose();
});

describe('the food saga with a kitchen step, from its declaration and one map entry', () => {
  it('serves the map with five steps to clients', async () => {
    const browser = await bffBrowser(sut.system.urls.bff);
    const saga = await browser.json<SagaDescription>('/api/saga');
    expect(saga.steps.map((step) => [step.name, step.trigger])).toEqual([
      ['restaurant', 'order_created'],
      ['kitchen', 'restaurant_reserved'],
      ['rider', 'kitchen_accepted'],
      ['payment', 'rider_assigned'],
    ]);
  });

  for (const outcome of outcomes) {
    it(`${outcome.name}: tracked, streamed, notified once and reconciled`, async () => {
      // The user has left: no live connection, so the final event becomes a notification.
      const browser = await bffBrowser(sut.system.urls.bff);
      await client.configure(outcome.config, `user:${browser.session.userId}`);
      const orderId = await browser.placeOrder({
        restaurantId: seedOrder.restaurantId,
        cart: 'cart' in outcome ? outcome.cart : seedOrder.cart,
      });

      const order = await waitFor(
        `order ${orderId} to settle as "${outcome.name}"`,
        async () => {
          const view = await browser.json<OrderView>(`/api/orders/${orderId}`);
          const states = Object.fromEntries(view.steps.map((step) => [step.name, step.state]));
          return JSON.stringify(states) === JSON.stringify(outcome.states) && view;
        },
        { timeoutMs: 30_000, intervalMs: 100 },
      );
      expect(order.status).toBe(outcome.status);
      if ('reason' in outcome) {
        expect(order.rejection).toEqual({ step: 'kitchen', reason: outcome.reason });
        expect(order.steps.find((step) => step.name === 'kitchen')?.reason).toBe(outcome.reason);
      }
      const kitchenRan = outcome.states.kitchen !== 'pending';
      expect(sut.log.booked.filter((id) => id === orderId)).toHaveLength(
        kitchenRan && outcome.states.kitchen !== 'failed' ? 1 : 0,
      );
      expect(sut.log.released.filter((id) => id === orderId)).toHaveLength(
        outcome.states.kitchen === 'compensated' ? 1 : 0,
      );

      const inbox = await waitFor(
        'the notification',
        async () => {
          const notifications =
            await browser.json<Array<{ orderId: string; kind: string }>>('/api/notifications');
          const mine = notifications.filter((notification) => notification.orderId === orderId);
          return mine.length > 0 && mine;
        },
        { timeoutMs: 30_000, intervalMs: 100 },
      );
      expect(inbox.map((notification) => notification.kind)).toEqual([outcome.notification]);
      // Once decided (a watcher would be notified of nothing), the stream's snapshot draws the
      // same steps.
      const stream = await browser.sse(orderId);
      try {
        await stream.until((messages) =>
          messages.some(({ message }) => message.type === 'snapshot'),
        );
        const snapshot = stream.messages.find(
          ({ message }) => message.type === 'snapshot',
        )?.message;
        expect(
          snapshot?.type === 'snapshot' && snapshot.order.steps.map((step) => step.name),
        ).toEqual(['restaurant', 'kitchen', 'rider', 'payment']);
      } finally {
        stream.close();
      }
    });
  }

  it('leaves nothing for reconciliation to find, kitchen records included', async () => {
    const check = async () => {
      const { snapshot, startedAt } = await readReconcileSnapshot((service) => {
        const db = sut.system.databases[service];
        return db ? Promise.resolve(db) : Promise.reject(new Error(`no database for ${service}`));
      }, kitchenSaga);
      const options = { stuckAfterMs: 60_000, settleMs: 0, saga: kitchenSaga };
      return { snapshot, findings: reconcile(snapshot, startedAt, options) };
    };
    const { snapshot, findings } = await waitFor(
      'reconciliation to find nothing',
      async () => {
        const result = await check();
        return result.findings.length === 0 && result;
      },
      { timeoutMs: 20_000, intervalMs: 250 },
    ).catch(async () => check());
    expect(findings).toEqual([]);
    expect(snapshot.steps.kitchen?.length).toBeGreaterThanOrEqual(3);
  });
});
