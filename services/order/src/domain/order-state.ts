/**
 * The order's state as a pure fold over the SET of saga events recorded for it.
 *
 * Guarantee: `foldOrder(order, events)` depends only on which events are in `events`, never on
 * their order or on repeats. A late forward event never overwrites a cancellation, completion
 * never depends on which topic was consumed first, and a second copy of an outcome (same
 * type, another envelope id) changes nothing.
 */

/** Status codes of the seed: 0 created, 1 updated, 2 completed, 5 cancelled. */
export type OrderStatus = 0 | 1 | 2 | 5;
export type OrderStatusText = 'created' | 'updated' | 'completed' | 'cancelled';

export const statusText: Readonly<Record<OrderStatus, OrderStatusText>> = {
  0: 'created',
  1: 'updated',
  2: 'completed',
  5: 'cancelled',
};

/** The saga steps after the order itself; each one may reject the order. */
export type SagaStep = 'restaurant' | 'rider' | 'payment';
/** The steps that hold something (a reservation) to release when a later step rejects. */
export type CompensatingStep = Exclude<SagaStep, 'payment'>;

/**
 * Every event type on an order's timeline, in saga order. The rank breaks ties between events
 * stamped with the same time, so the timeline has one order whatever the arrival order.
 */
export const timelineTypes = [
  'order_created',
  'restaurant_reserved',
  'restaurant_cancelled',
  'rider_assigned',
  'rider_cancelled',
  'restaurant_compensated',
  'payment_done',
  'payment_cancelled',
  'rider_compensated',
] as const;
export type TimelineType = (typeof timelineTypes)[number];

/** The outcome events the order service consumes (everything but its own `order_created`). */
export const outcomeTypes = timelineTypes.filter(
  (type): type is Exclude<TimelineType, 'order_created'> => type !== 'order_created',
);
export type OutcomeType = (typeof outcomeTypes)[number];

const forwardTypes: ReadonlySet<string> = new Set(['restaurant_reserved', 'rider_assigned']);

/** Cancellations, in saga order, with the data field that carries their reason. */
const cancellations: readonly { type: OutcomeType; step: SagaStep; reasonField: string }[] = [
  { type: 'restaurant_cancelled', step: 'restaurant', reasonField: 'restaurantCancellationReason' },
  { type: 'rider_cancelled', step: 'rider', reasonField: 'riderCancellationReason' },
  { type: 'payment_cancelled', step: 'payment', reasonField: 'paymentCancellationReason' },
];

/**
 * A compensation happens only because a later step was cancelled, so it proves the order is
 * cancelled even when it arrives before that cancellation.
 */
const compensationTypes: ReadonlySet<string> = new Set([
  'restaurant_compensated',
  'rider_compensated',
]);

/** One recorded event: its envelope id and time, its type and its (already validated) data. */
export interface RecordedEvent {
  readonly id: string;
  readonly type: string;
  /** ISO 8601 instant (the envelope's `time`). */
  readonly time: string;
  readonly data: Readonly<Record<string, unknown>>;
}

/** What the order service knows of an order without any outcome. */
export interface OrderFacts {
  /** The catalogue's price when the order was accepted. */
  readonly priceCents: number;
}

export interface TimelineEntry {
  readonly id: string;
  readonly type: string;
  readonly time: string;
  readonly data: Readonly<Record<string, unknown>>;
}

export interface OrderState {
  readonly status: OrderStatus;
  readonly statusText: OrderStatusText;
  /** The restaurant's price once it reserved, else the catalogue's. */
  readonly priceCents: number;
  readonly restaurantPhone?: string;
  readonly restaurantAddress?: string;
  readonly riderId?: string;
  readonly riderName?: string;
  readonly riderPhone?: string;
  readonly receiptId?: string;
  readonly amountCents?: number;
  /** The first step (in saga order) that rejected the order, once its cancellation is known. */
  readonly rejection?: { readonly step: SagaStep; readonly reason: string };
  /** Steps that released what they had reserved. */
  readonly compensated: readonly CompensatingStep[];
  /** One entry per event type (the earliest copy), sorted by time, then saga order. */
  readonly timeline: readonly TimelineEntry[];
}

const rankOf = (type: string): number => {
  const rank = (timelineTypes as readonly string[]).indexOf(type);
  return rank === -1 ? timelineTypes.length : rank;
};

/** A total order on events: time, then saga rank, then type, then id (ids are unique). */
export function compareEvents(a: RecordedEvent, b: RecordedEvent): number {
  return (
    Date.parse(a.time) - Date.parse(b.time) ||
    rankOf(a.type) - rankOf(b.type) ||
    compareText(a.type, b.type) ||
    compareText(a.id, b.id)
  );
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Keeps one event per type: the earliest by `compareEvents`. Each step emits one outcome per
 * order, so a second copy (a producer retry under a new id) is the same fact and is ignored.
 */
export function distinctByType(events: readonly RecordedEvent[]): RecordedEvent[] {
  const byType = new Map<string, RecordedEvent>();
  for (const event of events) {
    const kept = byType.get(event.type);
    if (!kept || compareEvents(event, kept) < 0) byType.set(event.type, event);
  }
  return [...byType.values()].sort(compareEvents);
}

function text(data: Readonly<Record<string, unknown>>, key: string): string | undefined {
  const value = data[key];
  return typeof value === 'string' ? value : undefined;
}

function integer(data: Readonly<Record<string, unknown>>, key: string): number | undefined {
  const value = data[key];
  return typeof value === 'number' && Number.isInteger(value) ? value : undefined;
}

/** Derives the status alone from the set of event types. */
export function statusOf(types: ReadonlySet<string>): OrderStatus {
  const cancelled =
    cancellations.some(({ type }) => types.has(type)) ||
    [...compensationTypes].some((type) => types.has(type));
  if (cancelled) return 5;
  if (types.has('payment_done')) return 2;
  if ([...forwardTypes].some((type) => types.has(type))) return 1;
  return 0;
}

/** The order's state from its facts and the set of its recorded events. Pure. */
export function foldOrder(facts: OrderFacts, events: readonly RecordedEvent[]): OrderState {
  const timeline = distinctByType(events);
  const byType = new Map(timeline.map((event) => [event.type, event.data]));
  const status = statusOf(new Set(byType.keys()));

  const reserved = byType.get('restaurant_reserved');
  const assigned = byType.get('rider_assigned');
  const paid = byType.get('payment_done');
  const rejected = cancellations.find(({ type }) => byType.has(type));
  const rejectionData = rejected && byType.get(rejected.type);

  return {
    status,
    statusText: statusText[status],
    priceCents: (reserved && integer(reserved, 'priceCents')) ?? facts.priceCents,
    // Absent facts stay `undefined`, which JSON responses omit.
    restaurantPhone: reserved && text(reserved, 'restaurantPhone'),
    restaurantAddress: reserved && text(reserved, 'restaurantAddress'),
    riderId: assigned && text(assigned, 'riderId'),
    riderName: assigned && text(assigned, 'riderName'),
    riderPhone: assigned && text(assigned, 'riderPhone'),
    receiptId: paid && text(paid, 'receiptId'),
    amountCents: paid && integer(paid, 'amountCents'),
    ...(rejected && rejectionData
      ? {
          rejection: {
            step: rejected.step,
            reason: text(rejectionData, rejected.reasonField) ?? 'no reason given',
          },
        }
      : {}),
    compensated: (['restaurant', 'rider'] as const).filter((step) =>
      byType.has(`${step}_compensated`),
    ),
    timeline: timeline.map(({ id, type, time, data }) => ({ id, type, time, data })),
  };
}
