import { randomUUID } from 'node:crypto';
import { listDeadLetters } from '@cads/consumer';
import { startStepTestbed, type StepTestbed } from '@cads/externals/testing';
import { sleep, waitFor } from '@cads/messaging/testing';
import type { Recorder, RunningService } from '@cads/service/testing';
import { foodSagaDeclaration } from '@cads/food-saga';
import { Id } from '@cads/order/contracts';
import { defineSaga, defineStep } from '@cads/saga';
import Type from 'typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRestaurantStatus, restaurantService } from './index.ts';

/**
 * The food saga with a packing step inserted between restaurant and rider: only the map knows
 * it, neither the restaurant nor the rider code does.
 */
const PackingRef = Type.Object({ orderId: Id, userId: Id, priceCents: Type.Integer() });
const packingStep = defineStep({
  name: 'packing',
  label: 'Packing',
  input: PackingRef,
  success: { type: 'packing_done', schema: PackingRef },
  failure: {
    type: 'packing_failed',
    schema: Type.Object({ orderId: Id, userId: Id, packingFailureReason: Type.String() }),
    reasonField: 'packingFailureReason',
  },
  compensation: { type: 'packing_undone', schema: Type.Object({ orderId: Id, userId: Id }) },
});
const [restaurantStep, riderStep, paymentStep] = foodSagaDeclaration.steps;
const packedSaga = defineSaga({
  ...foodSagaDeclaration,
  steps: [restaurantStep, packingStep, riderStep, paymentStep],
});

let bed: StepTestbed;
let restaurant: RunningService;
let events: Recorder;
let admin: StepTestbed['admin'];
let testbed: StepTestbed['testbed'];

beforeAll(async () => {
  bed = await startStepTestbed({
    system: 'restaurant',
    define: (externals) =>
      restaurantService({ ...externals, baseDelayMs: 5, retry: { baseDelayMs: 20 } }),
    emits: ['restaurant_reserved', 'restaurant_cancelled', 'restaurant_compensated'],
  });
  ({ step: restaurant, events, admin, testbed } = bed);
});

afterAll(async () => {
  await bed?.close();
});

/** A new order of its own user, so its externals config (scope `user:`) is its own. */
const newOrder = () => ({
  orderId: randomUUID(),
  userId: `user-${randomUUID().slice(0, 8)}`,
  restaurantId: '48hbfe4',
  cart: [
    { itemId: 'p01', amount: 3 },
    { itemId: 'p02', amount: 2 },
  ],
  status: 0 as const,
});
type Order = ReturnType<typeof newOrder>;

const configure = async (order: Order, config: unknown) => {
  const answer = await admin('POST', `/api/config?scope=user:${order.userId}`, config);
  expect(answer.status).toBe(202);
};
const reservationsOf = async (order: Order) =>
  (await admin('GET', `/api/restaurant/reservations?orderId=${order.orderId}`)).body as Array<{
    status: string;
  }>;
const publishOrder = (order: Order) => testbed.publish('order_created', order.orderId, order);
const riderCancelled = (order: Order) =>
  testbed.publish('rider_cancelled', order.orderId, {
    orderId: order.orderId,
    userId: order.userId,
    riderCancellationReason: 'no rider available',
    status: 4,
  });
const typesOf = (order: Order) => events.of(order.orderId).map((message) => message.type);

describe('restaurant service', () => {
  it('reserves an order and emits restaurant_reserved with the price, phone and address', async () => {
    const order = newOrder();
    await publishOrder(order);
    const reserved = await events.next(order.orderId, 'restaurant_reserved');
    expect(reserved.data).toEqual({
      orderId: order.orderId,
      userId: order.userId,
      restaurantId: '48hbfe4',
      cart: order.cart,
      priceCents: 5230,
      restaurantPhone: '+34 91 555 02 64',
      restaurantAddress: 'Calle del Pez 7, Madrid',
      status: 0,
    });
    expect(reserved.source).toBe('/cads/restaurant');
    expect(reserved.correlationid).toBe(`testbed-${order.orderId}`);
    expect(await readRestaurantStatus(restaurant.db, order.orderId)).toBe(0);
    expect(await reservationsOf(order)).toMatchObject([{ status: 'active' }]);
  });

  it('turns a rejection into restaurant_cancelled with the system reason', async () => {
    const order = newOrder();
    await configure(order, { restaurant: { post: { response: 503 } } });
    await publishOrder(order);
    const cancelled = await events.next(order.orderId, 'restaurant_cancelled');
    expect(cancelled.data).toEqual({
      orderId: order.orderId,
      userId: order.userId,
      restaurantCancellationReason: 'restaurant busy',
      status: 4,
    });
    expect(await readRestaurantStatus(restaurant.db, order.orderId)).toBe(4);
    expect(await reservationsOf(order)).toEqual([]);
  });

  it('rides out transient failures and reserves once', async () => {
    const order = newOrder();
    await configure(order, { restaurant: { post: { failFirst: [503, 503] } } });
    await publishOrder(order);
    await events.next(order.orderId, 'restaurant_reserved');
    expect(await reservationsOf(order)).toHaveLength(1);
    expect(typesOf(order)).toEqual(['restaurant_reserved']);
  });

  it('releases the reservation on compensation, once', async () => {
    const order = newOrder();
    await publishOrder(order);
    await events.next(order.orderId, 'restaurant_reserved');
    await riderCancelled(order);
    const compensated = await events.next(order.orderId, 'restaurant_compensated');
    expect(compensated.data).toEqual({ orderId: order.orderId, userId: order.userId, status: 5 });
    expect(await readRestaurantStatus(restaurant.db, order.orderId)).toBe(5);
    expect(await reservationsOf(order)).toMatchObject([{ status: 'released' }]);

    await testbed.handled(restaurant, await riderCancelled(order));
    await testbed.handled(
      restaurant,
      await testbed.publish('payment_cancelled', order.orderId, {
        orderId: order.orderId,
        userId: order.userId,
        paymentCancellationReason: 'insufficient funds',
        status: 4,
      }),
    );
    expect(typesOf(order)).toEqual(['restaurant_reserved', 'restaurant_compensated']);
  });

  it('leaves a tombstone when compensation comes first: the late order reserves nothing', async () => {
    const order = newOrder();
    await riderCancelled(order);
    await events.next(order.orderId, 'restaurant_compensated');
    expect(await readRestaurantStatus(restaurant.db, order.orderId)).toBe(5);

    await testbed.handled(restaurant, await publishOrder(order));
    expect(await reservationsOf(order)).toEqual([]);
    expect(await readRestaurantStatus(restaurant.db, order.orderId)).toBe(5);
    expect(typesOf(order)).toEqual(['restaurant_compensated']);
  });

  it('never marks compensated before the release succeeded', async () => {
    const order = newOrder();
    await configure(order, { restaurant: { delete: { response: 503 } } });
    await publishOrder(order);
    await events.next(order.orderId, 'restaurant_reserved');
    await riderCancelled(order);
    await sleep(300);
    expect(await readRestaurantStatus(restaurant.db, order.orderId)).toBe(0);
    expect(typesOf(order)).toEqual(['restaurant_reserved']);

    await configure(order, { restaurant: { delete: { response: 204 } } });
    await events.next(order.orderId, 'restaurant_compensated');
    expect(await reservationsOf(order)).toMatchObject([{ status: 'released' }]);
  });

  it('ignores the same order_created delivered again under a new message id', async () => {
    const order = newOrder();
    await publishOrder(order);
    await events.next(order.orderId, 'restaurant_reserved');
    await testbed.handled(restaurant, await publishOrder(order));
    expect(await reservationsOf(order)).toHaveLength(1);
    expect(typesOf(order)).toEqual(['restaurant_reserved']);
  });

  it('dead-letters an order_created missing a field of its declared input, while valid orders go on', async () => {
    const broken = { orderId: randomUUID(), userId: 'user-x', cart: [], status: 0 };
    const poison = await testbed.publish('order_created', broken.orderId, broken);
    const order = newOrder();
    await publishOrder(order);
    await events.next(order.orderId, 'restaurant_reserved');
    const letter = await waitFor('the dead letter', async () =>
      (await listDeadLetters(restaurant.db, { consumer: 'restaurant' })).find(
        (candidate) => candidate.messageId === poison.id,
      ),
    );
    expect(letter.reason).toBe('invalid_payload');
    expect(await readRestaurantStatus(restaurant.db, broken.orderId)).toBe(-1);
  });
});

describe('restaurant service, in a saga with a step inserted after it', () => {
  let packed: StepTestbed;
  beforeAll(async () => {
    packed = await startStepTestbed({
      system: 'restaurant',
      define: (externals) =>
        restaurantService({
          saga: packedSaga,
          ...externals,
          baseDelayMs: 5,
          retry: { baseDelayMs: 20 },
        }),
      emits: ['restaurant_reserved', 'restaurant_compensated'],
    });
  });
  afterAll(async () => {
    await packed?.close();
  });

  it("subscribes to the new step's failure and releases the reservation on it", async () => {
    const order = newOrder();
    await packed.testbed.publish('order_created', order.orderId, order);
    await packed.events.next(order.orderId, 'restaurant_reserved');
    // Carries only the ids and the reason: the release needs nothing else.
    await packed.testbed.publish('packing_failed', order.orderId, {
      orderId: order.orderId,
      userId: order.userId,
      packingFailureReason: 'no boxes left',
    });
    const compensated = await packed.events.next(order.orderId, 'restaurant_compensated');
    expect(compensated.data).toEqual({ orderId: order.orderId, userId: order.userId, status: 5 });
    expect(await readRestaurantStatus(packed.step.db, order.orderId)).toBe(5);
    const reservations = await packed.admin(
      'GET',
      `/api/restaurant/reservations?orderId=${order.orderId}`,
    );
    expect(reservations.body).toMatchObject([{ status: 'released' }]);
  });
});
