import { describe, expect, it } from 'vitest';
import { foldOrder, type RecordedEvent, statusOf } from './order-state.ts';

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

/** Given the set, when folded in every arrival order, then the state is always `expected`. */
function expectSameStateInEveryOrder(events: readonly RecordedEvent[]) {
  const reference = foldOrder(facts, events);
  for (const order of permutations(events)) expect(foldOrder(facts, order)).toEqual(reference);
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
  ] as const)('%j → %i', (types, status) => {
    expect(statusOf(new Set(types))).toBe(status);
  });
});
