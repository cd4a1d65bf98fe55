import { foodSaga } from '@cads/food-saga';
import { describe, expect, it } from 'vitest';
import type { RecordedEvent } from './domain/order-state.ts';
import { orderTracker } from './order-tracker.ts';
import { kitchenData, kitchenSaga } from './testing/kitchen-saga.ts';

const { fold: foldOrder, statusOf } = orderTracker(foodSaga);

const facts = { priceCents: 5230 };
let clock = 0;
/** Events stamped one second apart in the order they are built (the saga's order). */
const event = (type: string, data: Record<string, unknown> = {}, id?: string): RecordedEvent => {
  clock += 1;
  return {
    id: id ?? `${type}-${clock}`,
    type,
    time: new Date(Date.UTC(2025, 0, 1, 12, 0, clock)).toISOString(),
    data: { orderId: 'o1', userId: 'u1', ...data },
  };
};

const created = event('order_created', { status: 0 });
const reserved = event('restaurant_reserved', {
  priceCents: 5230,
  restaurantPhone: '+34 91 555 02 64',
  restaurantAddress: 'Calle del Pez 7, Madrid',
  status: 0,
});
const restaurantCancelled = event('restaurant_cancelled', {
  restaurantCancellationReason: 'restaurant busy',
  status: 4,
});
const assigned = event('rider_assigned', {
  riderId: 'r7',
  riderName: 'Ana',
  riderPhone: '+34 600 000 007',
  priceCents: 5230,
  status: 0,
});
const riderCancelled = event('rider_cancelled', {
  riderCancellationReason: 'no rider available',
  status: 4,
});
const restaurantCompensated = event('restaurant_compensated', { status: 5 });
const paid = event('payment_done', { receiptId: 'rcpt-1', amountCents: 5230, status: 0 });
const paymentCancelled = event('payment_cancelled', {
  paymentCancellationReason: 'insufficient funds',
  status: 4,
});
const riderCompensated = event('rider_compensated', { status: 5 });

function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  return items.flatMap((item, index) =>
    permutations([...items.slice(0, index), ...items.slice(index + 1)]).map((rest) => [
      item,
      ...rest,
    ]),
  );
}

/** Given the set, when folded in every arrival order, then the state is always the same. */
function expectSameStateInEveryOrder(
  events: readonly RecordedEvent[],
  fold: typeof foldOrder = foldOrder,
) {
  const reference = fold(facts, events);
  for (const order of permutations(events)) expect(fold(facts, order)).toEqual(reference);
  return reference;
}

describe('foldOrder', () => {
  it('an order with no outcome yet is created (0) at the catalogue price', () => {
    const state = foldOrder(facts, [created]);
    expect(state).toMatchObject({ status: 0, statusText: 'created', priceCents: 5230 });
    expect(state.rejection).toBeUndefined();
    expect(state.timeline.map((entry) => entry.type)).toEqual(['order_created']);
    expect(foldOrder(facts, []).status).toBe(0);
  });

  it('all accept: completed (2) with every detail, in any arrival order', () => {
    const state = expectSameStateInEveryOrder([created, reserved, assigned, paid]);
    expect(state).toMatchObject({
      status: 2,
      statusText: 'completed',
      priceCents: 5230,
      restaurantPhone: '+34 91 555 02 64',
      restaurantAddress: 'Calle del Pez 7, Madrid',
      riderId: 'r7',
      riderName: 'Ana',
      riderPhone: '+34 600 000 007',
      receiptId: 'rcpt-1',
      amountCents: 5230,
      compensated: [],
    });
    expect(state.rejection).toBeUndefined();
    expect(state.timeline.map((entry) => entry.type)).toEqual([
      'order_created',
      'restaurant_reserved',
      'rider_assigned',
      'payment_done',
    ]);
    expect(state.steps).toEqual([
      { name: 'restaurant', label: 'Restaurant', state: 'succeeded' },
      { name: 'rider', label: 'Rider', state: 'succeeded' },
      { name: 'payment', label: 'Payment', state: 'succeeded' },
    ]);
    expect(state.shown.map(({ step, field, value }) => [step, field, value])).toEqual([
      ['restaurant', 'restaurantAddress', 'Calle del Pez 7, Madrid'],
      ['restaurant', 'restaurantPhone', '+34 91 555 02 64'],
      ['restaurant', 'priceCents', 5230],
      ['rider', 'riderName', 'Ana'],
      ['rider', 'riderPhone', '+34 600 000 007'],
      ['payment', 'amountCents', 5230],
      ['payment', 'receiptId', 'rcpt-1'],
    ]);
  });

  it('payment done before the forward events still completes only once nothing cancelled', () => {
    expect(expectSameStateInEveryOrder([paid]).status).toBe(2);
    expect(expectSameStateInEveryOrder([reserved, assigned]).status).toBe(1);
    expect(expectSameStateInEveryOrder([created, reserved]).statusText).toBe('updated');
  });

  it('restaurant rejects: cancelled (5) with the restaurant step and its reason', () => {
    const state = expectSameStateInEveryOrder([created, restaurantCancelled]);
    expect(state).toMatchObject({
      status: 5,
      statusText: 'cancelled',
      rejection: { step: 'restaurant', reason: 'restaurant busy' },
    });
  });

  it('rider rejects: cancelled (5), the restaurant compensated, whatever arrives first', () => {
    const state = expectSameStateInEveryOrder([
      created,
      reserved,
      riderCancelled,
      restaurantCompensated,
    ]);
    expect(state).toMatchObject({
      status: 5,
      rejection: { step: 'rider', reason: 'no rider available' },
      compensated: ['restaurant'],
      restaurantPhone: '+34 91 555 02 64',
    });
    expect(state.steps.map(({ state: at, reason }) => [at, reason])).toEqual([
      ['compensated', undefined],
      ['failed', 'no rider available'],
      ['pending', undefined],
    ]);
  });

  it('payment rejects: cancelled (5), both compensated, a late forward event changes nothing', () => {
    const state = expectSameStateInEveryOrder([
      created,
      reserved,
      assigned,
      paymentCancelled,
      restaurantCompensated,
      riderCompensated,
    ]);
    expect(state).toMatchObject({
      status: 5,
      rejection: { step: 'payment', reason: 'insufficient funds' },
      compensated: ['restaurant', 'rider'],
    });
    expect(state.receiptId).toBeUndefined();
  });

  it('a cancellation wins over payment_done, and a compensation alone already means cancelled', () => {
    expect(expectSameStateInEveryOrder([reserved, assigned, paid, riderCancelled]).status).toBe(5);
    const early = expectSameStateInEveryOrder([created, reserved, restaurantCompensated]);
    expect(early.status).toBe(5);
    expect(early.rejection).toBeUndefined();
  });

  it('with several cancellations the first step in saga order is the rejection', () => {
    const state = expectSameStateInEveryOrder([paymentCancelled, riderCancelled]);
    expect(state.rejection).toEqual({ step: 'rider', reason: 'no rider available' });
  });

  it('a repeated event (same id, or same type under a new id) changes nothing', () => {
    const reference = foldOrder(facts, [created, reserved, assigned, paid]);
    const retried = { ...reserved, id: 'another-envelope', time: '2030-01-01T00:00:00.000Z' };
    expect(foldOrder(facts, [created, reserved, assigned, paid, reserved])).toEqual(reference);
    expect(expectSameStateInEveryOrder([created, retried, reserved, assigned, paid])).toEqual(
      reference,
    );
  });

  it('events stamped with the same time are listed in saga order', () => {
    const time = '2025-01-01T00:00:00.000Z';
    const same = [paid, assigned, reserved, created].map((e) => ({ ...e, time }));
    expect(expectSameStateInEveryOrder(same).timeline.map((entry) => entry.type)).toEqual([
      'order_created',
      'restaurant_reserved',
      'rider_assigned',
      'payment_done',
    ]);
  });
});

describe('statusOf', () => {
  it.each([
    [[], 0],
    [['order_created'], 0],
    [['restaurant_reserved'], 1],
    [['rider_assigned'], 1],
    [['payment_done'], 2],
    [['payment_done', 'payment_cancelled'], 5],
    [['restaurant_reserved', 'restaurant_cancelled'], 5],
    [['rider_compensated'], 5],
    [['restaurant_reserved', 'rider_assigned', 'payment_done', 'payment_done'], 2],
  ] as const)('%j → %i', (types, status) => {
    expect(statusOf(types)).toBe(status);
    expect(statusOf([...types].reverse())).toBe(status);
  });
});

describe('a saga composed with one more step (a kitchen between restaurant and rider)', () => {
  const { fold, statusOf: kitchenStatusOf } = orderTracker(kitchenSaga);
  /** Stamped with the time of `at` (the kitchen answers in the same second). */
  const kitchenEvent = (type: string, at: RecordedEvent) => ({
    ...event(type, kitchenData[type]),
    time: at.time,
  });
  const kitchenAccepted = kitchenEvent('kitchen_accepted', reserved);
  const kitchenRefused = kitchenEvent('kitchen_refused', reserved);
  const kitchenReleased = kitchenEvent('kitchen_released', paymentCancelled);

  it('the kitchen refuses: cancelled (5) at the kitchen, the restaurant compensated, in any order', () => {
    const state = expectSameStateInEveryOrder(
      [created, reserved, kitchenRefused, restaurantCompensated],
      fold,
    );
    expect(state).toMatchObject({
      status: 5,
      statusText: 'cancelled',
      rejection: { step: 'kitchen', reason: 'oven broken' },
      compensated: ['restaurant'],
    });
    expect(state.steps).toEqual([
      { name: 'restaurant', label: 'Restaurant', state: 'compensated' },
      { name: 'kitchen', label: 'Kitchen', state: 'failed', reason: 'oven broken' },
      { name: 'rider', label: 'Rider', state: 'pending' },
      { name: 'payment', label: 'Payment', state: 'pending' },
    ]);
    expect(state.timeline.map((entry) => entry.type)).toEqual([
      'order_created',
      'restaurant_reserved',
      'kitchen_refused',
      'restaurant_compensated',
    ]);
  });

  it('payment refuses after the kitchen: every earlier step, the kitchen too, is compensated', () => {
    const state = expectSameStateInEveryOrder(
      [reserved, kitchenAccepted, assigned, paymentCancelled, kitchenReleased, riderCompensated],
      fold,
    );
    expect(state).toMatchObject({
      status: 5,
      rejection: { step: 'payment', reason: 'insufficient funds' },
      compensated: ['kitchen', 'rider'],
    });
    expect(state.steps.map((step) => step.state)).toEqual([
      'succeeded',
      'compensated',
      'compensated',
      'failed',
    ]);
  });

  it('completes on the last step and shows the kitchen’s fields in saga order', () => {
    const state = expectSameStateInEveryOrder(
      [created, reserved, kitchenAccepted, assigned, paid],
      fold,
    );
    expect(state.status).toBe(2);
    expect(state.shown.map(({ step, field }) => `${step}.${field}`)).toContain(
      'kitchen.readyInMinutes',
    );
    expect(state.shown.findIndex((value) => value.step === 'kitchen')).toBeGreaterThan(
      state.shown.findIndex((value) => value.step === 'restaurant'),
    );
    expect(kitchenStatusOf(['kitchen_accepted'])).toBe(1);
    expect(kitchenStatusOf(['kitchen_released'])).toBe(5);
    // The food saga's map does not know the kitchen: its events change nothing there.
    expect(statusOf(['kitchen_refused'])).toBe(0);
  });
});
