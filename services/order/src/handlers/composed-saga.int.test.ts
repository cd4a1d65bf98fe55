import { listDeadLetters } from '@cads/consumer';
import { waitFor } from '@cads/messaging/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrderView } from '../contracts/api.ts';
import { readOrderStatus } from '../store/orders.ts';
import { kitchenData, kitchenSaga } from '../testing/kitchen-saga.ts';
import {
  placeOrder,
  type OrderHarness,
  outcome,
  seedData,
  startOrderHarness,
  readOrder,
} from '../testing/order-harness.ts';

const payloads = { ...seedData, ...kitchenData };

describe('order on a saga composed with a kitchen step (PGlite)', () => {
  let harness: OrderHarness;

  beforeAll(async () => {
    harness = await startOrderHarness({ saga: kitchenSaga });
  });
  afterAll(async () => {
    await harness?.close();
  });

  const place = (userId: string) => placeOrder(harness, userId);
  const view = async (orderId: string) => {
    const response = await readOrder(harness, orderId);
    expect(response.statusCode).toBe(200);
    return response.json<OrderView>();
  };
  /** Events of `types` for the order, stamped one second apart in the order given. */
  const sagaEvents = (order: { orderId: string; userId: string }, types: readonly string[]) => {
    const start = Date.now();
    return types.map((type, index) =>
      outcome(type, order, payloads[type] ?? {}, { time: new Date(start + (index + 1) * 1000) }),
    );
  };
  const recorded = (orderId: string, count: number) =>
    waitFor(`${count} events of ${orderId} recorded`, async () => {
      const { rows } = await harness.db.query<{ n: number }>(
        'select count(*)::int as n from order_events where order_id = $1',
        [orderId],
      );
      return rows[0]?.n === count;
    });

  it('the kitchen refuses: cancelled at the kitchen, the restaurant compensated, whatever arrives first', async () => {
    const types = ['restaurant_reserved', 'kitchen_refused', 'restaurant_compensated'];
    const views: OrderView[] = [];
    for (const arrival of [types, [...types].reverse()]) {
      const order = await place('kitchen-user');
      const events = sagaEvents(order, types);
      for (const type of arrival) {
        await harness.broker.publish(events.filter((event) => event.type === type));
      }
      await recorded(order.orderId, types.length + 1);
      expect(await readOrderStatus(harness.db, order.orderId)).toBe(5);
      views.push(await view(order.orderId));
    }
    for (const current of views) {
      expect(current).toMatchObject({
        status: 5,
        statusText: 'cancelled',
        rejection: { step: 'kitchen', reason: 'oven broken' },
        compensated: ['restaurant'],
        steps: [
          { name: 'restaurant', label: 'Restaurant', state: 'compensated' },
          { name: 'kitchen', label: 'Kitchen', state: 'failed', reason: 'oven broken' },
          { name: 'rider', label: 'Rider', state: 'pending' },
          { name: 'payment', label: 'Payment', state: 'pending' },
        ],
      });
      expect(current.timeline.map((entry) => entry.type)).toEqual(['order_created', ...types]);
    }
  });

  it('completes through the kitchen and shows its fields with the others', async () => {
    const types = ['restaurant_reserved', 'kitchen_accepted', 'rider_assigned', 'payment_done'];
    const order = await place('kitchen-happy-user');
    await harness.broker.publish(sagaEvents(order, types));
    await recorded(order.orderId, types.length + 1);
    const current = await view(order.orderId);
    expect(current).toMatchObject({ status: 2, receiptId: 'receipt-1', compensated: [] });
    expect(current.steps.every((step) => step.state === 'succeeded')).toBe(true);
    expect(current.shown).toContainEqual({
      step: 'kitchen',
      field: 'readyInMinutes',
      label: 'Ready in (min)',
      value: 20,
    });
  });

  it('validates the extra step’s events against the schema the map holds for them', async () => {
    const order = await place('kitchen-broken-user');
    const [invalid] = sagaEvents(order, ['kitchen_accepted']).map((event) => ({
      ...event,
      data: { ...event.data, readyInMinutes: 0 },
    }));
    await harness.broker.publish([invalid!]);
    const letter = await waitFor('the dead letter', async () =>
      (await listDeadLetters(harness.db, { consumer: 'order' })).find(
        (found) => found.messageId === invalid!.id,
      ),
    );
    expect(letter).toMatchObject({
      reason: 'invalid_payload',
      errorMessage: expect.stringContaining('readyInMinutes') as string,
    });
    expect(await readOrderStatus(harness.db, order.orderId)).toBe(0);
  });
});
