import { describe, expect, it } from 'vitest';
import { addEvents, orderProgress, type StepState, type TimelineEntry } from './order-progress.ts';

let sequence = 0;
function event(type: string, data: Record<string, unknown> = {}, id?: string): TimelineEntry {
  sequence += 1;
  const time = new Date(Date.UTC(2025, 0, 1, 12, 0, sequence)).toISOString();
  return { id: id ?? `ev-${String(sequence).padStart(3, '0')}-${type}`, type, time, data };
}

const created = event('order_created', { orderId: 'o1', restaurantId: '48hbfe4', status: 0 });
const reserved = event('restaurant_reserved', {
  orderId: 'o1',
  priceCents: 5230,
  restaurantPhone: '+34 600 000 001',
  restaurantAddress: 'Calle Mayor 1, Madrid',
  status: 0,
});
const assigned = event('rider_assigned', {
  orderId: 'o1',
  riderId: 'r7',
  riderName: 'Lucía',
  riderPhone: '+34 600 000 002',
  priceCents: 5230,
  status: 0,
});
const paid = event('payment_done', { orderId: 'o1', receiptId: 'rcpt-42', amountCents: 5230 });
const restaurantBusy = event('restaurant_cancelled', {
  orderId: 'o1',
  restaurantCancellationReason: 'restaurant busy',
  status: 4,
});
const noRider = event('rider_cancelled', {
  orderId: 'o1',
  riderCancellationReason: 'no rider available',
  status: 4,
});
const paymentBusy = event('payment_cancelled', {
  orderId: 'o1',
  paymentCancellationReason: 'payment platform busy',
  status: 4,
});
const restaurantReleased = event('restaurant_compensated', { orderId: 'o1', status: 5 });
const riderReleased = event('rider_compensated', { orderId: 'o1', status: 5 });

const outcomes = {
  'all accept': [created, reserved, assigned, paid],
  'restaurant rejects (503)': [created, restaurantBusy],
  'rider rejects (404)': [created, reserved, noRider, restaurantReleased],
  'payment rejects (402)': [
    created,
    reserved,
    assigned,
    paymentBusy,
    restaurantReleased,
    riderReleased,
  ],
};

function states(events: readonly TimelineEntry[]): Record<string, StepState> {
  return Object.fromEntries(orderProgress(events).steps.map(({ name, state }) => [name, state]));
}

/** A deterministic shuffle (the test must not flake), different for each seed. */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  const result = [...items];
  let state = seed;
  for (let i = result.length - 1; i > 0; i -= 1) {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    const j = state % (i + 1);
    [result[i], result[j]] = [result[j] as T, result[i] as T];
  }
  return result;
}

describe('orderProgress', () => {
  it('given no events yet, shows the order step in progress and nothing final', () => {
    const progress = orderProgress([]);
    expect(states([])).toEqual({
      order: 'active',
      restaurant: 'pending',
      rider: 'pending',
      payment: 'pending',
    });
    expect(progress).toMatchObject({ outcome: 'pending', final: false, settled: false });
    expect(progress.current).toBe('order');
  });

  it('given only order_created, waits for the restaurant', () => {
    expect(states([created])).toEqual({
      order: 'done',
      restaurant: 'active',
      rider: 'pending',
      payment: 'pending',
    });
    expect(orderProgress([created]).current).toBe('restaurant');
  });

  it('moves the active step forward as each step succeeds', () => {
    expect(states([created, reserved])).toMatchObject({ restaurant: 'done', rider: 'active' });
    expect(states([created, reserved, assigned])).toMatchObject({
      rider: 'done',
      payment: 'active',
    });
    expect(orderProgress([created, reserved, assigned])).toMatchObject({
      outcome: 'pending',
      final: false,
      current: 'payment',
    });
  });

  it('when all accept, shows four done steps, completed, and every detail', () => {
    const progress = orderProgress(outcomes['all accept']);
    expect(states(outcomes['all accept'])).toEqual({
      order: 'done',
      restaurant: 'done',
      rider: 'done',
      payment: 'done',
    });
    expect(progress).toMatchObject({ outcome: 'completed', final: true, settled: true });
    expect(progress.rejection).toBeUndefined();
    expect(progress.details).toEqual({
      restaurantPhone: '+34 600 000 001',
      restaurantAddress: 'Calle Mayor 1, Madrid',
      priceCents: 5230,
      riderName: 'Lucía',
      riderPhone: '+34 600 000 002',
      receiptId: 'rcpt-42',
      amountCents: 5230,
    });
  });

  it('when the restaurant rejects (503), shows the restaurant rejected with its reason', () => {
    const progress = orderProgress(outcomes['restaurant rejects (503)']);
    expect(states(outcomes['restaurant rejects (503)'])).toEqual({
      order: 'done',
      restaurant: 'rejected',
      rider: 'pending',
      payment: 'pending',
    });
    expect(progress.steps[1]).toEqual({
      name: 'restaurant',
      state: 'rejected',
      reason: 'restaurant busy',
    });
    expect(progress).toMatchObject({
      outcome: 'cancelled',
      final: true,
      settled: true,
      current: 'restaurant',
      rejection: { step: 'restaurant', reason: 'restaurant busy' },
    });
  });

  it('when the rider rejects (404), shows the rider rejected and the restaurant released', () => {
    const progress = orderProgress(outcomes['rider rejects (404)']);
    expect(states(outcomes['rider rejects (404)'])).toEqual({
      order: 'done',
      restaurant: 'compensated',
      rider: 'rejected',
      payment: 'pending',
    });
    expect(progress).toMatchObject({
      outcome: 'cancelled',
      final: true,
      settled: true,
      current: 'rider',
      rejection: { step: 'rider', reason: 'no rider available' },
    });
    expect(progress.details).toMatchObject({ restaurantPhone: '+34 600 000 001' });
    expect(progress.details.riderName).toBeUndefined();
  });

  it('when the payment rejects (402), shows it rejected and restaurant and rider released', () => {
    const progress = orderProgress(outcomes['payment rejects (402)']);
    expect(states(outcomes['payment rejects (402)'])).toEqual({
      order: 'done',
      restaurant: 'compensated',
      rider: 'compensated',
      payment: 'rejected',
    });
    expect(progress).toMatchObject({
      outcome: 'cancelled',
      final: true,
      settled: true,
      rejection: { step: 'payment', reason: 'payment platform busy' },
    });
    expect(progress.details.receiptId).toBeUndefined();
  });

  it('is final but not settled until the compensations the rejection causes arrive', () => {
    const beforeRelease = orderProgress([created, reserved, assigned, paymentBusy]);
    expect(beforeRelease).toMatchObject({ final: true, settled: false, outcome: 'cancelled' });
    expect(states([created, reserved, assigned, paymentBusy])).toMatchObject({
      restaurant: 'done',
      rider: 'done',
      payment: 'rejected',
    });
    const halfway = orderProgress([created, reserved, assigned, paymentBusy, riderReleased]);
    expect(halfway.settled).toBe(false);
    expect(halfway.steps[2]?.state).toBe('compensated');
  });

  it('treats a compensation that arrives before its rejection as a cancellation', () => {
    const progress = orderProgress([created, reserved, restaurantReleased]);
    expect(progress).toMatchObject({ outcome: 'cancelled', final: true, settled: false });
    expect(progress.rejection).toBeUndefined();
    expect(states([created, reserved, restaurantReleased])).toMatchObject({
      restaurant: 'compensated',
      rider: 'pending',
    });
  });

  it('infers that earlier steps succeeded when a later outcome arrives first', () => {
    expect(states([assigned])).toEqual({
      order: 'done',
      restaurant: 'done',
      rider: 'done',
      payment: 'active',
    });
  });

  it('never lets a late forward event hide a rejection', () => {
    const progress = orderProgress([created, restaurantBusy, reserved]);
    expect(progress.outcome).toBe('cancelled');
    expect(progress.steps[1]?.state).toBe('rejected');
  });

  it('says so when a rejection carries no reason', () => {
    const bare = event('rider_cancelled', { orderId: 'o1', status: 4 });
    expect(orderProgress([created, reserved, bare]).rejection).toEqual({
      step: 'rider',
      reason: 'No reason given',
    });
  });

  it('ignores details of the wrong type', () => {
    const odd = event('restaurant_reserved', { priceCents: '52.30', restaurantPhone: 42 });
    expect(orderProgress([created, odd]).details).toEqual({
      restaurantPhone: undefined,
      restaurantAddress: undefined,
      priceCents: undefined,
      riderName: undefined,
      riderPhone: undefined,
      receiptId: undefined,
      amountCents: undefined,
    });
  });

  describe('depends only on the set of events', () => {
    for (const [name, events] of Object.entries(outcomes)) {
      it(`${name}: shuffled and duplicated events give the same result`, () => {
        const expected = orderProgress(events);
        for (let seed = 1; seed <= 20; seed += 1) {
          const noisy = shuffled([...events, ...shuffled(events, seed + 100)], seed);
          expect(orderProgress(noisy)).toEqual(expected);
        }
      });
    }

    it('a second copy of an outcome under another id changes nothing, whichever comes first', () => {
      const retry: TimelineEntry = {
        ...paid,
        id: 'zz-retry',
        time: new Date(Date.parse(paid.time) + 1000).toISOString(),
        data: { ...paid.data, receiptId: 'rcpt-retry' },
      };
      const a = orderProgress([created, reserved, assigned, paid, retry]);
      const b = orderProgress([retry, created, assigned, paid, reserved]);
      expect(a).toEqual(b);
      expect(a.details.receiptId).toBe('rcpt-42');
    });
  });
});

describe('addEvents', () => {
  it('keeps one entry per event id and returns the same map when nothing is new', () => {
    const first = addEvents(new Map(), [created, reserved]);
    expect([...first.keys()]).toEqual([created.id, reserved.id]);
    const again = addEvents(first, [reserved, created]);
    expect(again).toBe(first);
    const more = addEvents(first, [reserved, assigned, assigned]);
    expect(more).not.toBe(first);
    expect(more.size).toBe(3);
  });

  it('applied to a snapshot and overlapping live events gives the snapshot’s progress', () => {
    const snapshot = outcomes['payment rejects (402)'];
    let known = addEvents(new Map(), [riderReleased, paymentBusy]);
    known = addEvents(known, snapshot);
    known = addEvents(known, [restaurantReleased]);
    expect(orderProgress(known.values())).toEqual(orderProgress(snapshot));
  });
});
