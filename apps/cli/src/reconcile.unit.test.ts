import { foodSaga } from '@cads/food-saga';
import { describe, expect, it } from 'vitest';
import {
  countOrders,
  type ExternalHold,
  type FinalDecision,
  type Finding,
  type FindingKind,
  type LedgerEntry,
  type NotificationRecord,
  type OrderEventRecord,
  type OrderRecord,
  reconcile,
  sagaOutcomes,
  type StepRecord,
} from './reconcile.ts';

const t0 = Date.parse('2030-01-01T12:00:00Z');
const at = (seconds: number) => new Date(t0 + seconds * 1_000);
const now = at(30);
const options = { stuckAfterMs: 60_000, settleMs: 5_000 };
const price = 5_230;

/** A snapshot under construction (the arrays mutable, so a test can corrupt it). */
interface Draft {
  orders: OrderRecord[];
  orderEvents: OrderEventRecord[];
  /** The food saga's steps. */
  steps: { restaurant: StepRecord[]; rider: StepRecord[]; payment: StepRecord[] };
  ledger: LedgerEntry[];
  reservations: ExternalHold[];
  assignments: ExternalHold[];
  notifications: NotificationRecord[];
  finalDecisions: FinalDecision[];
}

const empty = (): Draft => ({
  orders: [],
  orderEvents: [],
  steps: { restaurant: [], rider: [], payment: [] },
  ledger: [],
  reservations: [],
  assignments: [],
  notifications: [],
  finalDecisions: [],
});

type Outcome = 'all accept' | 'restaurant rejects' | 'rider rejects' | 'payment rejects';
const outcomes: readonly Outcome[] = [
  'all accept',
  'restaurant rejects',
  'rider rejects',
  'payment rejects',
];

/**
 * Adds one order that ended in `outcome` with everything the real system records for it: the
 * step records, the order's events, the externals' reservation, assignment and charge, the
 * BFF's decision and the notification (the user had left). Everything happened in the first
 * few seconds.
 */
function addSaga(draft: Draft, orderId: string, outcome: Outcome): Draft {
  const userId = `user-${orderId}`;
  const ref = { orderId, userId };
  const timeline: Record<Outcome, string[]> = {
    'all accept': ['restaurant_reserved', 'rider_assigned', 'payment_done'],
    'restaurant rejects': ['restaurant_cancelled'],
    'rider rejects': ['restaurant_reserved', 'rider_cancelled', 'restaurant_compensated'],
    'payment rejects': [
      'restaurant_reserved',
      'rider_assigned',
      'payment_cancelled',
      'restaurant_compensated',
      'rider_compensated',
    ],
  };
  const states: Record<Outcome, [number, number, number, number]> = {
    'all accept': [0, 0, 0, 2],
    'restaurant rejects': [4, -1, -1, 5],
    'rider rejects': [5, 4, -1, 5],
    'payment rejects': [5, 5, 4, 5],
  };
  const [restaurant, rider, payment, status] = states[outcome];
  draft.orders.push({ ...ref, status, priceCents: price, createdAt: at(0), updatedAt: at(3) });
  draft.orderEvents.push(
    ...['order_created', ...timeline[outcome]].map((type, i) => ({
      eventId: `${orderId}/${type}`,
      orderId,
      type,
      recordedAt: at(i),
    })),
  );
  const step = (status: number, details: unknown): StepRecord => ({
    ...ref,
    status,
    compensatedBeforeForward: false,
    details: status === 4 ? null : details,
    updatedAt: at(2),
  });
  if (restaurant !== -1) {
    draft.steps.restaurant.push(
      step(restaurant, { reservationId: `res-${orderId}`, priceCents: price }),
    );
    if (restaurant !== 4) {
      draft.reservations.push({
        ...ref,
        holdId: `res-${orderId}`,
        heldAt: at(1),
        releasedAt: restaurant === 5 ? at(3) : null,
      });
    }
  }
  if (rider !== -1) {
    draft.steps.rider.push(step(rider, { riderId: `rider-${orderId}` }));
    if (rider !== 4) {
      draft.assignments.push({
        ...ref,
        holdId: `rider-${orderId}`,
        heldAt: at(2),
        releasedAt: rider === 5 ? at(3) : null,
      });
    }
  }
  if (payment !== -1) {
    draft.steps.payment.push(step(payment, { receiptId: `rcpt-${orderId}`, amountCents: price }));
    if (payment === 0) {
      draft.ledger.push({
        ...ref,
        kind: 'charge',
        amountCents: price,
        receiptId: `rcpt-${orderId}`,
        at: at(2),
      });
    }
  }
  const final = timeline[outcome].find(
    (type) => type === 'payment_done' || type.endsWith('_cancelled'),
  );
  const eventId = `${orderId}/${final}`;
  draft.finalDecisions.push({
    ...ref,
    eventId,
    type: final ?? '',
    notified: true,
    decidedAt: at(3),
  });
  draft.notifications.push({ ...ref, eventId, createdAt: at(3) });
  return draft;
}

const saga = (outcome: Outcome, orderId = 'o1') => addSaga(empty(), orderId, outcome);

/** Replaces the items of `list` that belong to `orderId` with `change(item)`. */
function patch<T extends { readonly orderId: string }>(
  list: T[],
  orderId: string,
  change: (item: T) => T,
): void {
  list.forEach((item, i) => {
    if (item.orderId === orderId) list[i] = change(item);
  });
}

function remove<T>(list: T[], predicate: (item: T) => boolean): void {
  const kept = list.filter((item) => !predicate(item));
  list.splice(0, list.length, ...kept);
}

const kinds = (findings: readonly Finding[]): FindingKind[] => findings.map((f) => f.kind);
const check = (draft: Draft, when = now) => reconcile(draft, when, options);

describe('reconcile: consistent outcomes', () => {
  it('finds nothing in an empty system', () => {
    expect(check(empty())).toEqual([]);
  });

  for (const outcome of outcomes) {
    it(`finds nothing when ${outcome}`, () => {
      expect(check(saga(outcome))).toEqual([]);
    });
  }

  it('finds nothing in the four outcomes side by side, nor when the user was online', () => {
    const draft = empty();
    outcomes.forEach((outcome, i) => addSaga(draft, `o${i}`, outcome));
    remove(draft.notifications, (n) => n.orderId === 'o0');
    patch(draft.finalDecisions, 'o0', (decision) => ({ ...decision, notified: false }));
    expect(check(draft)).toEqual([]);
    expect(countOrders(draft, now, options)).toEqual({
      total: 4,
      completed: 1,
      cancelled: 3,
      inFlight: 0,
      stuck: 0,
    });
  });

  it('finds nothing when a refunded charge was made for a cancelled order', () => {
    const draft = saga('payment rejects');
    const charge = { orderId: 'o1', userId: 'user-o1', amountCents: price, receiptId: 'r9' };
    draft.ledger.push({ ...charge, kind: 'charge', at: at(2) });
    draft.ledger.push({ ...charge, kind: 'refund', at: at(3) });
    expect(check(draft)).toEqual([]);
  });

  it('finds nothing for a tombstone: compensated before its forward event, nothing held', () => {
    const draft = saga('rider rejects');
    remove(draft.reservations, () => true);
    remove(draft.orderEvents, (event) => event.type === 'restaurant_reserved');
    patch(draft.steps.restaurant, 'o1', (r) => ({ ...r, compensatedBeforeForward: true }));
    expect(check(draft)).toEqual([]);
  });
});

describe('reconcile: an order its deadline failed', () => {
  /** An order timed out while `ran` steps had run; the others left tombstones. */
  const timedOut = (ran: number): Draft => {
    const draft = empty();
    const ref = { orderId: 'o1', userId: 'user-o1' };
    draft.orders.push({ ...ref, status: 5, priceCents: price, createdAt: at(0), updatedAt: at(4) });
    const names = ['restaurant', 'rider', 'payment'] as const;
    const successes = ['restaurant_reserved', 'rider_assigned', 'payment_done'];
    const undoings = ['restaurant_compensated', 'rider_compensated', 'payment_refunded'];
    const types = [
      'order_created',
      'order_timed_out',
      ...successes.slice(0, ran),
      ...undoings.slice(0, ran),
    ];
    draft.orderEvents.push(
      ...types.map((type, i) => ({
        eventId: `o1/${type}`,
        orderId: 'o1',
        type,
        recordedAt: at(i),
      })),
    );
    names.forEach((name, index) => {
      draft.steps[name].push({
        ...ref,
        status: 5,
        compensatedBeforeForward: index >= ran,
        details: index >= ran ? null : { receiptId: 'rcpt-o1', amountCents: price },
        updatedAt: at(3),
      });
    });
    if (ran > 0) {
      draft.reservations.push({ ...ref, holdId: 'res-o1', heldAt: at(1), releasedAt: at(3) });
    }
    if (ran > 1) {
      draft.assignments.push({ ...ref, holdId: 'rider-o1', heldAt: at(1), releasedAt: at(3) });
    }
    if (ran > 2) {
      const charge = { ...ref, amountCents: price, receiptId: 'rcpt-o1' };
      draft.ledger.push(
        { ...charge, kind: 'charge', at: at(2) },
        { ...charge, kind: 'refund', at: at(3) },
      );
    }
    draft.finalDecisions.push({
      ...ref,
      eventId: 'o1/order_timed_out',
      type: 'order_timed_out',
      notified: true,
      decidedAt: at(2),
    });
    draft.notifications.push({ ...ref, eventId: 'o1/order_timed_out', createdAt: at(2) });
    return draft;
  };

  it('finds nothing when every step that ran undid it, a late charge refunded', () => {
    expect(check(timedOut(3))).toEqual([]);
  });

  it('finds nothing for steps the deadline reached before they ran: their tombstones say nothing', () => {
    expect(check(timedOut(0))).toEqual([]);
    expect(check(timedOut(1))).toEqual([]);
  });

  it('still reports a step left holding, and a charge not refunded', () => {
    const draft = timedOut(3);
    patch(draft.steps.rider, 'o1', (r) => ({ ...r, status: 0 }));
    remove(draft.ledger, (entry) => entry.kind === 'refund');
    expect(kinds(check(draft))).toEqual(
      expect.arrayContaining(['not-compensated', 'charged-cancelled-order']),
    );
  });
});

describe('reconcile: timing', () => {
  it('leaves a final order alone until it has been quiet for the settle time', () => {
    const draft = saga('rider rejects');
    patch(draft.steps.restaurant, 'o1', (r) => ({ ...r, status: 0 }));
    expect(check(draft, at(3 + 5))).toEqual([]);
    expect(kinds(check(draft, at(3 + 6)))).toContain('not-compensated');
  });

  it('leaves alone an order that changed after reading began', () => {
    const draft = saga('all accept');
    remove(draft.ledger, () => true);
    patch(draft.steps.payment, 'o1', (r) => ({ ...r, updatedAt: at(31) }));
    expect(check(draft)).toEqual([]);
  });

  it('reports an order that is not final and quiet for longer than stuck-after', () => {
    const draft = saga('all accept');
    remove(draft.orderEvents, (event) => event.type === 'payment_done');
    patch(draft.orders, 'o1', (order) => ({ ...order, status: 1 }));
    expect(check(draft, at(3 + 60))).toEqual([]);
    const findings = check(draft, at(3 + 61));
    expect(findings).toEqual([
      {
        orderId: 'o1',
        kind: 'stuck',
        detail: expect.stringContaining('no activity for 61 s') as string,
      },
    ]);
    expect(findings[0]?.detail).toContain('0/0/0/1');
    expect(countOrders(draft, at(3 + 61), options)).toMatchObject({ stuck: 1, inFlight: 0 });
    expect(countOrders(draft, at(3 + 60), options)).toMatchObject({ stuck: 0, inFlight: 1 });
  });
});

describe('reconcile: records without an order or of another user', () => {
  it('reports each kind of record for an order the order service does not know', () => {
    const draft = saga('all accept');
    const ghost = { orderId: 'ghost', userId: 'u' };
    draft.steps.restaurant.push({
      ...ghost,
      status: 0,
      compensatedBeforeForward: false,
      details: null,
      updatedAt: at(1),
    });
    draft.ledger.push({ ...ghost, kind: 'charge', amountCents: 1, receiptId: 'g', at: at(1) });
    draft.reservations.push({ ...ghost, holdId: 'g', heldAt: at(1), releasedAt: null });
    draft.notifications.push({ ...ghost, eventId: 'g', createdAt: at(1) });
    const findings = check(draft);
    expect(kinds(findings)).toEqual([
      'unknown-order',
      'unknown-order',
      'unknown-order',
      'unknown-order',
    ]);
    expect(findings.every((finding) => finding.orderId === 'ghost')).toBe(true);
    expect(findings.map((finding) => finding.detail).join('\n')).toContain('restaurant service');
  });

  it("reports a record that names another user than the order's", () => {
    const draft = saga('all accept');
    patch(draft.steps.payment, 'o1', (r) => ({ ...r, userId: 'mallory' }));
    expect(check(draft)).toEqual([
      {
        orderId: 'o1',
        kind: 'user-mismatch',
        detail: "the payment service's record names user mallory, the order belongs to user-o1",
      },
    ]);
  });
});

describe('reconcile: the order against its events', () => {
  it('reports a cached status that is not the fold of the events', () => {
    const draft = saga('all accept');
    patch(draft.orders, 'o1', (order) => ({ ...order, status: 1 }));
    expect(kinds(check(draft))).toEqual(['status-stale']);
  });

  it("reports a step's outcome the order never recorded", () => {
    const draft = saga('rider rejects');
    remove(draft.orderEvents, (event) => event.type === 'restaurant_compensated');
    const findings = check(draft);
    expect(kinds(findings)).toEqual(['event-not-recorded']);
    expect(findings[0]?.detail).toContain('restaurant_compensated');
  });
});

describe('reconcile: the four statuses', () => {
  it('reports a completed order whose step is not done', () => {
    const draft = saga('all accept');
    remove(draft.steps.restaurant, () => true);
    expect(kinds(check(draft))).toEqual(['completed-but-step-not-done', 'orphan-external-hold']);
  });

  it('reports a payment done while a step was compensated', () => {
    const draft = saga('all accept');
    patch(draft.steps.rider, 'o1', (r) => ({ ...r, status: 5 }));
    patch(draft.assignments, 'o1', (hold) => ({ ...hold, releasedAt: at(3) }));
    expect(kinds(check(draft))).toEqual([
      'event-not-recorded',
      'completed-but-step-not-done',
      'completed-but-compensated',
    ]);
  });

  it('reports a step still at 0 for a cancelled order (the reservation released)', () => {
    const draft = saga('rider rejects');
    patch(draft.steps.restaurant, 'o1', (r) => ({ ...r, status: 0 }));
    const findings = check(draft);
    expect(kinds(findings)).toEqual(['not-compensated', 'succeeded-without-external-hold']);
    expect(findings[0]?.detail).toBe(
      'restaurant 0 (reserved) for a cancelled order; it should be 5 (compensated)',
    );
  });

  it('reports a cancelled order no step rejected', () => {
    const draft = saga('payment rejects');
    patch(draft.steps.payment, 'o1', (r) => ({ ...r, status: 5 }));
    const findings = check(draft);
    expect(kinds(findings)).toContain('cancelled-without-rejection');
    expect(kinds(findings)).not.toContain('unexpected-states');
  });

  it('reports states that are none of the outcomes when no other rule explains them', () => {
    const draft = saga('restaurant rejects');
    draft.steps.rider.push({
      orderId: 'o1',
      userId: 'user-o1',
      status: 4,
      compensatedBeforeForward: false,
      details: null,
      updatedAt: at(2),
    });
    draft.orderEvents.push({
      eventId: 'o1/rider_cancelled',
      orderId: 'o1',
      type: 'rider_cancelled',
      recordedAt: at(2),
    });
    const findings = check(draft);
    expect(kinds(findings)).toEqual(['unexpected-states']);
    expect(findings[0]?.detail).toContain('4/4/-1/5 is none of the saga');
  });
});

describe('reconcile: the external systems', () => {
  it('reports a second reservation for one order', () => {
    const draft = saga('all accept');
    draft.reservations.push({
      orderId: 'o1',
      userId: 'user-o1',
      holdId: 'res-2',
      heldAt: at(1),
      releasedAt: at(2),
    });
    expect(kinds(check(draft))).toEqual(['duplicate-external-hold']);
  });

  it('reports a compensated step whose reservation is still held', () => {
    const draft = saga('rider rejects');
    patch(draft.reservations, 'o1', (hold) => ({ ...hold, releasedAt: null }));
    const findings = check(draft);
    expect(kinds(findings)).toEqual(['compensated-but-held']);
    expect(findings[0]?.detail).toContain('res-o1');
  });

  it('reports an assignment held for a rider step that was rejected', () => {
    const draft = saga('rider rejects');
    draft.assignments.push({
      orderId: 'o1',
      userId: 'user-o1',
      holdId: 'rider-x',
      heldAt: at(2),
      releasedAt: null,
    });
    expect(kinds(check(draft))).toEqual(['orphan-external-hold']);
  });

  it('reports a step at 0 whose external system holds nothing', () => {
    const draft = saga('all accept');
    remove(draft.assignments, () => true);
    expect(kinds(check(draft))).toEqual(['succeeded-without-external-hold']);
  });
});

describe("reconcile: the bank's ledger", () => {
  it('reports a completed order whose charge is missing', () => {
    const draft = saga('all accept');
    remove(draft.ledger, () => true);
    expect(kinds(check(draft))).toEqual(['charge-count', 'receipt-without-charge']);
  });

  it('reports a completed order charged twice', () => {
    const draft = saga('all accept');
    draft.ledger.push({
      orderId: 'o1',
      userId: 'user-o1',
      kind: 'charge',
      amountCents: price,
      receiptId: 'rcpt-2',
      at: at(2),
    });
    const findings = check(draft);
    expect(kinds(findings)).toEqual(['charge-count', 'charge-without-receipt']);
    expect(findings[1]?.detail).toContain('rcpt-2');
  });

  it('reports a completed order whose only charge was refunded', () => {
    const draft = saga('all accept');
    draft.ledger.push({
      orderId: 'o1',
      userId: 'user-o1',
      kind: 'refund',
      amountCents: price,
      receiptId: 'rcpt-o1',
      at: at(3),
    });
    expect(kinds(check(draft))).toEqual(['charge-count']);
  });

  it('reports a charge not refunded for a cancelled order', () => {
    const draft = saga('payment rejects');
    draft.ledger.push({
      orderId: 'o1',
      userId: 'user-o1',
      kind: 'charge',
      amountCents: price,
      receiptId: 'rcpt-x',
      at: at(2),
    });
    expect(kinds(check(draft))).toEqual(['charged-cancelled-order', 'charge-without-receipt']);
  });

  it('reports a payment record without a receipt id', () => {
    const draft = saga('all accept');
    patch(draft.steps.payment, 'o1', (r) => ({ ...r, details: { amountCents: price } }));
    expect(kinds(check(draft))).toEqual(['receipt-without-charge', 'charge-without-receipt']);
  });

  it('reports a charge of another amount than the price', () => {
    const draft = saga('all accept');
    patch(draft.ledger, 'o1', (entry) => ({ ...entry, amountCents: 5_000 }));
    const findings = check(draft);
    expect(kinds(findings)).toEqual(['amount-mismatch']);
    expect(findings[0]?.detail).toBe("charge rcpt-o1 is 50.00, the order's price 52.30");
  });
});

describe('reconcile: notifications and the BFF', () => {
  it('reports an order notified twice', () => {
    const draft = saga('rider rejects');
    draft.notifications.push({
      orderId: 'o1',
      userId: 'user-o1',
      eventId: 'another',
      createdAt: at(3),
    });
    expect(kinds(check(draft))).toEqual(['duplicate-notification']);
  });

  it('reports a decision to notify the provider has no notification for', () => {
    const draft = saga('payment rejects');
    remove(draft.notifications, () => true);
    expect(kinds(check(draft))).toEqual(['notification-missing']);
  });

  it('reports a notification the BFF decided not to send', () => {
    const draft = saga('all accept');
    patch(draft.finalDecisions, 'o1', (decision) => ({ ...decision, notified: false }));
    expect(kinds(check(draft))).toEqual(['notification-contradicts-decision']);
  });

  it('reports a final event the BFF has not decided about after stuck-after', () => {
    const draft = saga('restaurant rejects');
    remove(draft.finalDecisions, () => true);
    remove(draft.notifications, () => true);
    expect(check(draft, at(1 + 60))).toEqual([]);
    const findings = check(draft, at(1 + 61));
    expect(kinds(findings)).toEqual(['final-event-undecided']);
    expect(findings[0]?.detail).toContain('restaurant_cancelled o1/restaurant_cancelled');
  });
});

describe('reconcile: output', () => {
  it('sorts findings by order, then by rule', () => {
    const draft = empty();
    addSaga(draft, 'b', 'all accept');
    addSaga(draft, 'a', 'all accept');
    remove(draft.ledger, () => true);
    expect(check(draft).map((finding) => `${finding.orderId} ${finding.kind}`)).toEqual([
      'a charge-count',
      'a receipt-without-charge',
      'b charge-count',
      'b receipt-without-charge',
    ]);
  });
});

describe('sagaOutcomes', () => {
  it("derives the seed's four consistent end states from the food saga's map", () => {
    expect(sagaOutcomes(foodSaga)).toEqual([
      [0, 0, 0, 2],
      [4, -1, -1, 5],
      [5, 4, -1, 5],
      [5, 5, 4, 5],
    ]);
  });
});
