import { randomUUID } from 'node:crypto';
import { listDeadLetters } from '@cads/consumer';
import { startStepTestbed, type StepTestbed } from '@cads/externals/testing';
import { waitFor } from '@cads/messaging/testing';
import type { Recorder, RunningService } from '@cads/service/testing';
import { foodSagaDeclaration } from '@cads/food-saga';
import { Id } from '@cads/order/contracts';
import { defineSaga, defineStep } from '@cads/saga';
import Type from 'typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRiderStatus, riderService } from './index.ts';

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
let rider: RunningService;
let events: Recorder;
let admin: StepTestbed['admin'];
let testbed: StepTestbed['testbed'];

beforeAll(async () => {
  bed = await startStepTestbed({
    system: 'rider',
    define: (externals) =>
      riderService({ ...externals, baseDelayMs: 5, retry: { baseDelayMs: 20 } }),
    emits: ['rider_assigned', 'rider_cancelled', 'rider_compensated'],
  });
  ({ step: rider, events, admin, testbed } = bed);
});

afterAll(async () => {
  await bed?.close();
});

/** `restaurant_reserved` of a new order of its own user (its own externals config scope). */
const newReserved = () => ({
  orderId: randomUUID(),
  userId: `user-${randomUUID().slice(0, 8)}`,
  restaurantId: '48hbfe4',
  cart: [{ itemId: 'p01', amount: 3 }],
  priceCents: 2850,
  restaurantPhone: '+34 91 555 02 64',
  restaurantAddress: 'Calle del Pez 7, Madrid',
  status: 0 as const,
});
type Reserved = ReturnType<typeof newReserved>;

const configure = async (order: Reserved, config: unknown) => {
  const answer = await admin('POST', `/api/config?scope=user:${order.userId}`, config);
  expect(answer.status).toBe(202);
};
const assignmentsOf = async (order: Reserved) =>
  (await admin('GET', `/api/rider/assignments?orderId=${order.orderId}`)).body as Array<{
    status: string;
  }>;
const publishReserved = (order: Reserved) =>
  testbed.publish('restaurant_reserved', order.orderId, order);
const paymentCancelled = (order: Reserved) =>
  testbed.publish('payment_cancelled', order.orderId, {
    orderId: order.orderId,
    userId: order.userId,
    paymentCancellationReason: 'insufficient funds',
    status: 4,
  });
const typesOf = (order: Reserved) => events.of(order.orderId).map((message) => message.type);

describe('rider service', () => {
  it('assigns a rider and carries the restaurant price on', async () => {
    const order = newReserved();
    await publishReserved(order);
    const assigned = await events.next(order.orderId, 'rider_assigned');
    expect(assigned.data).toMatchObject({
      orderId: order.orderId,
      userId: order.userId,
      priceCents: 2850,
      status: 0,
    });
    expect(assigned.data).toEqual(
      expect.objectContaining({
        riderId: expect.any(String) as unknown,
        riderName: expect.any(String) as unknown,
        riderPhone: expect.any(String) as unknown,
      }),
    );
    expect(await readRiderStatus(rider.db, order.orderId)).toBe(0);
    expect(await assignmentsOf(order)).toMatchObject([{ status: 'active' }]);
  });

  it('turns a 404 into rider_cancelled with the system reason', async () => {
    const order = newReserved();
    await configure(order, { rider: { post: { response: 404 } } });
    await publishReserved(order);
    const cancelled = await events.next(order.orderId, 'rider_cancelled');
    expect(cancelled.data).toEqual({
      orderId: order.orderId,
      userId: order.userId,
      riderCancellationReason: 'no rider available',
      status: 4,
    });
    expect(await readRiderStatus(rider.db, order.orderId)).toBe(4);
  });

  it('rides out transient failures and assigns once', async () => {
    const order = newReserved();
    await configure(order, { rider: { post: { failFirst: [503, 503] } } });
    await publishReserved(order);
    await events.next(order.orderId, 'rider_assigned');
    expect(await assignmentsOf(order)).toHaveLength(1);
  });

  it('releases the rider when payment fails', async () => {
    const order = newReserved();
    await publishReserved(order);
    await events.next(order.orderId, 'rider_assigned');
    await paymentCancelled(order);
    const compensated = await events.next(order.orderId, 'rider_compensated');
    expect(compensated.data).toEqual({ orderId: order.orderId, userId: order.userId, status: 5 });
    expect(await readRiderStatus(rider.db, order.orderId)).toBe(5);
    expect(await assignmentsOf(order)).toMatchObject([{ status: 'released' }]);
    await testbed.handled(rider, await paymentCancelled(order));
    expect(typesOf(order)).toEqual(['rider_assigned', 'rider_compensated']);
  });

  it('leaves a tombstone when compensation comes first: the late event assigns nothing', async () => {
    const order = newReserved();
    await paymentCancelled(order);
    await events.next(order.orderId, 'rider_compensated');
    await testbed.handled(rider, await publishReserved(order));
    expect(await assignmentsOf(order)).toEqual([]);
    expect(await readRiderStatus(rider.db, order.orderId)).toBe(5);
    expect(typesOf(order)).toEqual(['rider_compensated']);
  });

  it('ignores the same restaurant_reserved delivered again under a new message id', async () => {
    const order = newReserved();
    await publishReserved(order);
    await events.next(order.orderId, 'rider_assigned');
    await testbed.handled(rider, await publishReserved(order));
    expect(await assignmentsOf(order)).toHaveLength(1);
    expect(typesOf(order)).toEqual(['rider_assigned']);
  });

  it('dead-letters an invalid restaurant_reserved while valid orders go on', async () => {
    const broken = { ...newReserved(), priceCents: -1 };
    const poison = await publishReserved(broken);
    const order = newReserved();
    await publishReserved(order);
    await events.next(order.orderId, 'rider_assigned');
    const letter = await waitFor('the dead letter', async () =>
      (await listDeadLetters(rider.db, { consumer: 'rider' })).find(
        (candidate) => candidate.messageId === poison.id,
      ),
    );
    expect(letter.reason).toBe('invalid_payload');
    expect(await readRiderStatus(rider.db, broken.orderId)).toBe(-1);
  });

  it('dead-letters a trigger missing a field of its declared input (the price)', async () => {
    const { priceCents: _, ...withoutPrice } = newReserved();
    const poison = await testbed.publish('restaurant_reserved', withoutPrice.orderId, withoutPrice);
    const letter = await waitFor('the dead letter', async () =>
      (await listDeadLetters(rider.db, { consumer: 'rider' })).find(
        (candidate) => candidate.messageId === poison.id,
      ),
    );
    expect(letter.reason).toBe('invalid_payload');
    expect(await readRiderStatus(rider.db, withoutPrice.orderId)).toBe(-1);
  });
});

describe('rider service, in a saga with a step inserted before it', () => {
  let packed: StepTestbed;
  beforeAll(async () => {
    packed = await startStepTestbed({
      system: 'rider',
      define: (externals) =>
        riderService({
          saga: packedSaga,
          ...externals,
          baseDelayMs: 5,
          retry: { baseDelayMs: 20 },
        }),
      emits: ['rider_assigned', 'rider_compensated'],
    });
  });
  afterAll(async () => {
    await packed?.close();
  });

  it("runs on the new step's success, no longer on the restaurant's", async () => {
    const early = newReserved();
    await packed.testbed.publish('restaurant_reserved', early.orderId, early);
    const order = newReserved();
    await packed.testbed.publish('packing_done', order.orderId, {
      orderId: order.orderId,
      userId: order.userId,
      priceCents: order.priceCents,
    });
    const assigned = await packed.events.next(order.orderId, 'rider_assigned');
    expect(assigned.data).toMatchObject({ orderId: order.orderId, priceCents: 2850 });
    expect(packed.events.of(early.orderId)).toEqual([]);
    expect(await readRiderStatus(packed.step.db, early.orderId)).toBe(-1);
  });
});
