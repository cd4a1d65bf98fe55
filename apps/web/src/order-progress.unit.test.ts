import type { SagaDescription } from '@cads/saga/verdict';
import { describe, expect, it } from 'vitest';
import {
  addEvents,
  orderProgress as progressOn,
  type StepState,
  type TimelineEntry,
} from './order-progress.ts';

/** The food saga's map as `GET /api/saga` serves it. */
const foodSaga: SagaDescription = {
  name: 'food-delivery',
  label: 'Food delivery',
  key: 'orderId',
  start: { type: 'order_created', label: 'Order', producer: 'order' },
  steps: [
    {
      name: 'restaurant',
      label: 'Restaurant',
      trigger: 'order_created',
      success: 'restaurant_reserved',
      failure: 'restaurant_cancelled',
      reasonField: 'restaurantCancellationReason',
      compensation: 'restaurant_compensated',
      compensateOn: ['rider_cancelled', 'payment_cancelled'],
      shows: [
        { field: 'restaurantAddress', label: 'Address' },
        { field: 'restaurantPhone', label: 'Phone' },
        { field: 'priceCents', label: 'Price', format: 'cents' },
      ],
    },
    {
      name: 'rider',
      label: 'Rider',
      trigger: 'restaurant_reserved',
      success: 'rider_assigned',
      failure: 'rider_cancelled',
      reasonField: 'riderCancellationReason',
      compensation: 'rider_compensated',
      compensateOn: ['payment_cancelled'],
      shows: [
        { field: 'riderName', label: 'Rider' },
        { field: 'riderPhone', label: 'Phone' },
      ],
    },
    {
      name: 'payment',
      label: 'Payment',
      trigger: 'rider_assigned',
      success: 'payment_done',
      failure: 'payment_cancelled',
      reasonField: 'paymentCancellationReason',
      compensateOn: [],
      shows: [
        { field: 'amountCents', label: 'Charged', format: 'cents' },
        { field: 'receiptId', label: 'Receipt' },
      ],
    },
  ],
  completion: 'payment_done',
};

const orderProgress = (events: Iterable<TimelineEntry>) => progressOn(foodSaga, events);

/** The shown values of a step, field → value. */
function shownOf(events: readonly TimelineEntry[], step: string): Record<string, unknown> {
  const found = orderProgress(events).steps.find(({ name }) => name === step);
  return Object.fromEntries((found?.shown ?? []).map(({ field, value }) => [field, value]));
}

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

  it('when all accept, shows four done steps, completed, and every shown field', () => {
    const progress = orderProgress(outcomes['all accept']);
    expect(states(outcomes['all accept'])).toEqual({
      order: 'done',
      restaurant: 'done',
      rider: 'done',
      payment: 'done',
    });
    expect(progress).toMatchObject({ outcome: 'completed', final: true, settled: true });
    expect(progress.rejection).toBeUndefined();
    expect(progress.current).toBe('payment');
    expect(progress.steps.map(({ label }) => label)).toEqual([
      'Order',
      'Restaurant',
      'Rider',
      'Payment',
    ]);
    const all = outcomes['all accept'];
    expect(shownOf(all, 'restaurant')).toEqual({
      restaurantAddress: 'Calle Mayor 1, Madrid',
      restaurantPhone: '+34 600 000 001',
      priceCents: 5230,
    });
    expect(shownOf(all, 'rider')).toEqual({ riderName: 'Lucía', riderPhone: '+34 600 000 002' });
    expect(shownOf(all, 'payment')).toEqual({ amountCents: 5230, receiptId: 'rcpt-42' });
    expect(progress.steps[3]?.shown.map(({ label, format }) => [label, format])).toEqual([
      ['Charged', 'cents'],
      ['Receipt', undefined],
    ]);
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
      label: 'Restaurant',
      state: 'rejected',
      reason: 'restaurant busy',
      shown: [],
    });
    expect(progress).toMatchObject({
      outcome: 'cancelled',
      final: true,
      settled: true,
      current: 'restaurant',
      rejection: { step: 'restaurant', label: 'Restaurant', reason: 'restaurant busy' },
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
    const events = outcomes['rider rejects (404)'];
    expect(shownOf(events, 'restaurant')).toMatchObject({ restaurantPhone: '+34 600 000 001' });
    expect(shownOf(events, 'rider')).toEqual({});
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
    expect(shownOf(outcomes['payment rejects (402)'], 'payment')).toEqual({});
  });

  it('is final but not settled until the compensations the rejection causes arrive', () => {
    const beforeRelease = orderProgress([created, reserved, assigned, paymentBusy]);
    expect(beforeRelease).toMatchObject({ final: true, settled: false, outcome: 'cancelled' });
    expect(beforeRelease.awaitingCompensation).toEqual(['rider', 'restaurant']);
    expect(states([created, reserved, assigned, paymentBusy])).toMatchObject({
      restaurant: 'done',
      rider: 'done',
      payment: 'rejected',
    });
    const halfway = orderProgress([created, reserved, assigned, paymentBusy, riderReleased]);
    expect(halfway.settled).toBe(false);
    expect(halfway.steps[2]?.state).toBe('compensated');
    expect(halfway.awaitingCompensation).toEqual(['restaurant']);
  });

  it('given the deadline passed, shows the step waited on as timed out, the rest released', () => {
    const timedSaga: SagaDescription = {
      ...foodSaga,
      steps: foodSaga.steps.map((step) => ({
        ...step,
        compensation: step.compensation ?? 'payment_refunded',
        compensateOn: [...step.compensateOn, 'order_timed_out'],
      })),
      deadline: {
        afterMs: 600_000,
        type: 'order_timed_out',
        reasonField: 'reason',
        waitingOnField: 'step',
      },
    };
    const timedOut = event('order_timed_out', {
      orderId: 'o1',
      reason: 'timed out',
      step: 'rider',
      status: 5,
    });
    const progress = progressOn(timedSaga, [created, reserved, timedOut]);
    expect(progress).toMatchObject({
      outcome: 'cancelled',
      final: true,
      settled: false,
      timedOut: true,
      rejection: { step: 'rider', label: 'Rider', reason: 'timed out' },
      awaitingCompensation: ['restaurant'],
    });
    expect(progress.steps.map(({ state }) => state)).toEqual([
      'done',
      'done',
      'rejected',
      'pending',
    ]);
    // A late assignment is undone, never revives the order; the rider stays the one timed out.
    const late = progressOn(timedSaga, [created, reserved, timedOut, assigned, restaurantReleased]);
    expect(late).toMatchObject({
      outcome: 'cancelled',
      rejection: { step: 'rider' },
      awaitingCompensation: ['rider'],
    });
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
      label: 'Rider',
      reason: 'no reason given',
    });
  });

  it('leaves out shown values that cannot be drawn in their format', () => {
    const odd = event('restaurant_reserved', {
      priceCents: '52.30',
      restaurantPhone: { number: 1 },
      restaurantAddress: '  ',
    });
    expect(shownOf([created, odd], 'restaurant')).toEqual({});
    const fractional = event('restaurant_reserved', { priceCents: 52.3, restaurantPhone: 600 });
    expect(shownOf([created, fractional], 'restaurant')).toEqual({ restaurantPhone: 600 });
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
      expect(shownOf([retry, created, assigned, paid, reserved], 'payment')).toMatchObject({
        receiptId: 'rcpt-42',
      });
    });
  });
});

/** The food saga composed with a fifth step, a kitchen that can refuse, before the payment. */
const withKitchen: SagaDescription = {
  ...foodSaga,
  steps: [
    ...foodSaga.steps.slice(0, 2).map((step) => ({
      ...step,
      compensateOn: [...step.compensateOn, 'kitchen_cancelled'],
    })),
    {
      name: 'kitchen',
      label: 'Kitchen',
      trigger: 'rider_assigned',
      success: 'kitchen_accepted',
      failure: 'kitchen_cancelled',
      reasonField: 'kitchenCancellationReason',
      compensation: 'kitchen_compensated',
      compensateOn: ['payment_cancelled'],
      shows: [
        { field: 'readyInMinutes', label: 'Ready in' },
        { field: 'tipCents', label: 'Tip', format: 'cents' },
      ],
    },
    { ...foodSaga.steps[2]!, trigger: 'kitchen_accepted' },
  ],
};

describe('orderProgress on a map with five steps', () => {
  const progress = (events: readonly TimelineEntry[]) => progressOn(withKitchen, events);
  const statesOf = (events: readonly TimelineEntry[]) =>
    Object.fromEntries(progress(events).steps.map(({ name, state }) => [name, state]));
  const accepted = event('kitchen_accepted', { orderId: 'o1', readyInMinutes: 25, tipCents: 150 });
  const refused = event('kitchen_cancelled', {
    orderId: 'o1',
    kitchenCancellationReason: 'out of basil',
  });
  const kitchenRejects = [
    created,
    reserved,
    assigned,
    refused,
    accepted,
    restaurantReleased,
    riderReleased,
  ];

  it('draws the start and each step of the map with its label, in saga order', () => {
    expect(progress([]).steps.map(({ name, label }) => [name, label])).toEqual([
      ['order', 'Order'],
      ['restaurant', 'Restaurant'],
      ['rider', 'Rider'],
      ['kitchen', 'Kitchen'],
      ['payment', 'Payment'],
    ]);
  });

  it('makes the extra step active after the rider, and shows its fields', () => {
    expect(statesOf([created, reserved, assigned])).toEqual({
      order: 'done',
      restaurant: 'done',
      rider: 'done',
      kitchen: 'active',
      payment: 'pending',
    });
    const kitchen = progress([created, reserved, assigned, accepted]).steps[3];
    expect(kitchen?.state).toBe('done');
    expect(kitchen?.shown.map(({ label, value }) => [label, value])).toEqual([
      ['Ready in', 25],
      ['Tip', 150],
    ]);
    expect(progress([created, reserved, assigned, accepted]).current).toBe('payment');
  });

  it('when the extra step rejects, it is rejected with its reason, despite a late success', () => {
    expect(statesOf(kitchenRejects)).toEqual({
      order: 'done',
      restaurant: 'compensated',
      rider: 'compensated',
      kitchen: 'rejected',
      payment: 'pending',
    });
    expect(progress(kitchenRejects)).toMatchObject({
      outcome: 'cancelled',
      final: true,
      settled: true,
      current: 'kitchen',
      rejection: { step: 'kitchen', label: 'Kitchen', reason: 'out of basil' },
    });
    expect(progress(kitchenRejects).steps[3]?.reason).toBe('out of basil');
  });

  it('is settled only once both earlier steps have released', () => {
    const waiting = progress([created, reserved, assigned, refused, riderReleased]);
    expect(waiting).toMatchObject({ final: true, settled: false });
    expect(waiting.awaitingCompensation).toEqual(['restaurant']);
  });

  it('depends only on the set of events', () => {
    const expected = progress(kitchenRejects);
    for (let seed = 1; seed <= 20; seed += 1) {
      const noisy = shuffled([...kitchenRejects, ...shuffled(kitchenRejects, seed + 100)], seed);
      expect(progress(noisy)).toEqual(expected);
    }
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
