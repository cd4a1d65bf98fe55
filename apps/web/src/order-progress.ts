import type { OrderView } from '@cads/bff/contracts';

/**
 * What the order screen shows, derived from the order's saga events alone.
 *
 * Guarantee: `orderProgress(events)` depends only on the SET of events: their arrival order and
 * repeats (the same event id twice, as when a snapshot and a live event overlap) never change the
 * result. A late forward event never hides a rejection. Pure: no I/O, no clock, no DOM.
 */

export type TimelineEntry = OrderView['timeline'][number];

export const stepNames = ['order', 'restaurant', 'rider', 'payment'] as const;
export type StepName = (typeof stepNames)[number];
export type StepState = 'pending' | 'active' | 'done' | 'rejected' | 'compensated';
export type OrderOutcome = 'pending' | 'completed' | 'cancelled';
export type RejectingStep = Exclude<StepName, 'order'>;

export interface StepProgress {
  readonly name: StepName;
  readonly state: StepState;
  /** Why the step rejected the order; only when `state` is `rejected`. */
  readonly reason?: string;
}

/** Facts each saga step reported, filled in as soon as its event is known. */
export interface OrderDetails {
  readonly restaurantPhone?: string;
  readonly restaurantAddress?: string;
  /** The restaurant's price for the cart (`restaurant_reserved`). */
  readonly priceCents?: number;
  readonly riderName?: string;
  readonly riderPhone?: string;
  readonly receiptId?: string;
  /** What the bank charged (`payment_done`). */
  readonly amountCents?: number;
}

export interface OrderProgress {
  /** Always four steps, in saga order. */
  readonly steps: readonly StepProgress[];
  readonly outcome: OrderOutcome;
  /** The saga has ended: paid, or a step rejected the order. */
  readonly final: boolean;
  /**
   * Final and every compensation the rejection causes has been seen: no further event can change
   * what the screen shows, so a live connection may close.
   */
  readonly settled: boolean;
  /** The first step, in saga order, that rejected the order. */
  readonly rejection?: { readonly step: RejectingStep; readonly reason: string };
  /** The step to draw as current: the one in progress, the rejected one, or the last one. */
  readonly current: StepName;
  readonly details: OrderDetails;
}

const rejections: readonly { step: RejectingStep; type: string; reasonField: string }[] = [
  { step: 'restaurant', type: 'restaurant_cancelled', reasonField: 'restaurantCancellationReason' },
  { step: 'rider', type: 'rider_cancelled', reasonField: 'riderCancellationReason' },
  { step: 'payment', type: 'payment_cancelled', reasonField: 'paymentCancellationReason' },
];

/** What each rejection makes the earlier steps release. */
const compensationsAfter: Readonly<Record<RejectingStep, readonly string[]>> = {
  restaurant: [],
  rider: ['restaurant_compensated'],
  payment: ['restaurant_compensated', 'rider_compensated'],
};

const laterThanRestaurant = [
  'rider_assigned',
  'rider_cancelled',
  'rider_compensated',
  'payment_done',
  'payment_cancelled',
];
const laterThanRider = ['payment_done', 'payment_cancelled'];

/**
 * Adds events to those already known, keyed by event id. Returns `known` itself when nothing is
 * new, so a caller can skip re-rendering.
 */
export function addEvents(
  known: ReadonlyMap<string, TimelineEntry>,
  incoming: Iterable<TimelineEntry>,
): ReadonlyMap<string, TimelineEntry> {
  let next: Map<string, TimelineEntry> | undefined;
  for (const event of incoming) {
    if ((next ?? known).has(event.id)) continue;
    next ??= new Map(known);
    next.set(event.id, event);
  }
  return next ?? known;
}

/** The order screen's state from the set of the order's saga events. Pure. */
export function orderProgress(events: Iterable<TimelineEntry>): OrderProgress {
  const byType = firstOfEachType(events);
  const has = (type: string): boolean => byType.has(type);
  const hasAny = (types: readonly string[]): boolean => types.some(has);

  const rejected = rejections.find(({ type }) => has(type));
  const rejection = rejected && {
    step: rejected.step,
    reason: text(byType.get(rejected.type)?.data, rejected.reasonField) ?? 'No reason given',
  };
  const compensated = hasAny(['restaurant_compensated', 'rider_compensated']);
  const paid = has('payment_done');
  const outcome: OrderOutcome =
    rejected || compensated ? 'cancelled' : paid ? 'completed' : 'pending';
  const final = outcome !== 'pending';
  const settled = rejected ? compensationsAfter[rejected.step].every(has) : outcome === 'completed';

  const orderDone = byType.size > 0;
  const restaurantDone = has('restaurant_reserved') || hasAny(laterThanRestaurant);
  const riderDone = has('rider_assigned') || hasAny(laterThanRider);
  const stepState = (name: RejectingStep, done: boolean, previousDone: boolean): StepProgress => {
    if (rejection?.step === name) return { name, state: 'rejected', reason: rejection.reason };
    if (has(`${name}_compensated`)) return { name, state: 'compensated' };
    if (done) return { name, state: 'done' };
    return { name, state: previousDone && !final ? 'active' : 'pending' };
  };
  const steps: StepProgress[] = [
    { name: 'order', state: orderDone ? 'done' : 'active' },
    stepState('restaurant', restaurantDone, orderDone),
    stepState('rider', riderDone, restaurantDone),
    stepState('payment', paid, riderDone),
  ];
  const current =
    rejection?.step ??
    steps.find(({ state }) => state === 'active')?.name ??
    (final ? 'payment' : 'order');

  return {
    steps,
    outcome,
    final,
    settled,
    ...(rejection ? { rejection } : {}),
    current,
    details: detailsOf(byType),
  };
}

function detailsOf(byType: ReadonlyMap<string, TimelineEntry>): OrderDetails {
  const reserved = byType.get('restaurant_reserved')?.data;
  const assigned = byType.get('rider_assigned')?.data;
  const paid = byType.get('payment_done')?.data;
  return {
    restaurantPhone: text(reserved, 'restaurantPhone'),
    restaurantAddress: text(reserved, 'restaurantAddress'),
    priceCents: cents(reserved, 'priceCents'),
    riderName: text(assigned, 'riderName'),
    riderPhone: text(assigned, 'riderPhone'),
    receiptId: text(paid, 'receiptId'),
    amountCents: cents(paid, 'amountCents'),
  };
}

/**
 * One event per type: each step emits one outcome per order, so another copy (a producer's retry
 * under a new id) is the same fact. The earliest copy by time, then id, wins whatever the order
 * of arrival.
 */
function firstOfEachType(events: Iterable<TimelineEntry>): Map<string, TimelineEntry> {
  const byType = new Map<string, TimelineEntry>();
  for (const event of events) {
    const kept = byType.get(event.type);
    if (!kept || isEarlier(event, kept)) byType.set(event.type, event);
  }
  return byType;
}

function isEarlier(a: TimelineEntry, b: TimelineEntry): boolean {
  const byTime = Date.parse(a.time) - Date.parse(b.time);
  return byTime < 0 || (byTime === 0 && a.id < b.id);
}

/** An event's payload field; payloads are JSON objects with any fields. */
function field(data: object | undefined, key: string): unknown {
  return data === undefined ? undefined : (data as Readonly<Record<string, unknown>>)[key];
}

function text(data: object | undefined, key: string): string | undefined {
  const value = field(data, key);
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}

function cents(data: object | undefined, key: string): number | undefined {
  const value = field(data, key);
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}
