import { waitFor } from '@cads/messaging/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  placeOrder,
  observe,
  type OrderHarness,
  outcome,
  seedData,
  startOrderHarness,
  readOrder,
} from '../testing/order-harness.ts';

interface View {
  status: number;
  statusText: string;
  rejection?: { step: string; reason: string };
  compensated: string[];
  steps: { name: string; state: string; reason?: string }[];
}

/** The order service with a 60 s deadline, on a clock the test moves. */
describe('an order with no final event by its deadline (PGlite, injected clock)', () => {
  let harness: OrderHarness;
  const clock = { now: Date.parse('2026-03-01T12:00:00Z') };
  let timedOut: Awaited<ReturnType<typeof observe>>;

  beforeAll(async () => {
    harness = await startOrderHarness({
      now: () => new Date(clock.now),
      deadlineMs: 60_000,
      deadlinePollMs: 20,
    });
    timedOut = await observe(harness.broker, ['order_timed_out']);
  });
  afterAll(async () => {
    await timedOut?.stop();
    await harness?.close();
  });

  const place = (userId: string) => placeOrder(harness, userId);
  const view = async (orderId: string) => (await readOrder(harness, orderId)).json<View>();
  const deliver = async (order: { orderId: string; userId: string }, ...types: string[]) => {
    for (const type of types) {
      await harness.broker.publish([
        outcome(type, order, seedData[type] ?? {}, { time: new Date(clock.now) }),
      ]);
    }
  };
  const armed = async (orderId: string) =>
    (await harness.db.query('select 1 from cads_saga_deadlines where saga_id = $1', [orderId]))
      .rowCount;

  it('is failed as timed out on the step it waited on, once, through order_timed_out', async () => {
    const order = await place('u-late');
    await deliver(order, 'restaurant_reserved');
    await waitFor('the reservation', async () => (await view(order.orderId)).status === 1);
    clock.now += 59_000;
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(timedOut.messages).toEqual([]);

    clock.now += 1_000;
    const fired = await waitFor('order_timed_out', () =>
      timedOut.messages.find((message) => message.subject === order.orderId),
    );
    expect(fired).toMatchObject({
      source: '/cads/order',
      correlationid: `${order.userId}-${order.orderId}`,
      data: { orderId: order.orderId, userId: order.userId, reason: 'timed out', status: 5 },
    });
    expect(await view(order.orderId)).toMatchObject({
      status: 5,
      statusText: 'cancelled',
      rejection: { step: 'rider', reason: 'timed out' },
    });
    expect(await armed(order.orderId)).toBe(0);
  });

  it('is never revived by a late success: the order stays cancelled while the steps undo', async () => {
    const order = await place('u-slow');
    clock.now += 60_000;
    await waitFor('order_timed_out', () =>
      timedOut.messages.find((message) => message.subject === order.orderId),
    );
    await deliver(order, 'restaurant_reserved', 'rider_assigned', 'payment_done');
    await deliver(order, 'restaurant_compensated', 'rider_compensated', 'payment_refunded');
    await waitFor('the refunds', async () => (await view(order.orderId)).compensated.length === 3);
    expect(await view(order.orderId)).toMatchObject({
      status: 5,
      statusText: 'cancelled',
      compensated: ['restaurant', 'rider', 'payment'],
    });
  });

  it('does not fire for an order that ended first: its end disarmed it', async () => {
    const order = await place('u-quick');
    expect(await armed(order.orderId)).toBe(1);
    await deliver(order, 'restaurant_reserved', 'rider_assigned', 'payment_done');
    await waitFor('completion', async () => (await view(order.orderId)).status === 2);
    expect(await armed(order.orderId)).toBe(0);
    clock.now += 3_600_000;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(timedOut.messages.filter((m) => m.subject === order.orderId)).toEqual([]);
    expect((await view(order.orderId)).status).toBe(2);
  });
});
