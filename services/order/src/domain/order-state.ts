/**
 * The order's state as a pure fold over the SET of saga events recorded for it, read through
 * the saga map: which steps there are, how events rank, and the verdict on a set of event
 * types all come from the map, so a saga composed with more steps folds without a change here.
 *
 * Guarantee: `fold(facts, events)` depends only on which events are in `events`, never on
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

/** The saga's status, as the map's verdict names it. */
export type SagaStatus = 'started' | 'running' | 'completed' | 'failed';
/** Where one step is, as the map's verdict names it. */
export type StepState = 'pending' | 'succeeded' | 'failed' | 'compensated';

/** The seed's code for each saga status (`orderStatusCode` of the food saga). */
export type StatusCodes = Readonly<Record<SagaStatus, OrderStatus>>;

/** A shown field of a succeeded step, with its value (the map's `ShownValue`). */
export interface ShownValue {
  readonly step: string;
  readonly field: string;
  readonly label: string;
  readonly format?: 'text' | 'cents';
  readonly value: unknown;
}

/**
 * What the fold reads of the saga map (`SagaMap` of `@cads/saga` is one). Domain code imports
 * no package, so it names the members it uses instead.
 */
export interface TrackedSaga {
  readonly steps: readonly {
    readonly name: string;
    readonly label: string;
    readonly success: { readonly type: string };
  }[];
  /** The event's position in saga order; unknown types last. */
  rankOf(type: string): number;
  /** The verdict from the set of event types alone (order-independent). */
  verdict(types: Iterable<string>): {
    readonly status: SagaStatus;
    readonly steps: readonly { readonly name: string; readonly state: StepState }[];
  };
  /** The verdict plus the failure's reason and the shown fields (first copy of a type wins). */
  track(
    events: readonly { readonly type: string; readonly data?: Readonly<Record<string, unknown>> }[],
  ): {
    readonly status: SagaStatus;
    readonly steps: readonly { readonly name: string; readonly state: StepState }[];
    readonly failure?: { readonly step: string; readonly reason: string };
    readonly shown: readonly ShownValue[];
  };
}

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

/** One step of the saga as a client draws it (a stepper of N steps). */
export interface StepView {
  readonly name: string;
  readonly label: string;
  readonly state: StepState;
  /** Why the step refused, on the failed step. */
  readonly reason?: string;
}

export interface OrderState {
  readonly status: OrderStatus;
  readonly statusText: OrderStatusText;
  /** The price a step reported (the restaurant's), else the catalogue's. */
  readonly priceCents: number;
  readonly restaurantPhone?: string;
  readonly restaurantAddress?: string;
  readonly riderId?: string;
  readonly riderName?: string;
  readonly riderPhone?: string;
  readonly receiptId?: string;
  readonly amountCents?: number;
  /** The first step (in saga order) that rejected the order, once its failure is known. */
  readonly rejection?: { readonly step: string; readonly reason: string };
  /** Steps that undid their success because a later one failed, in saga order. */
  readonly compensated: readonly string[];
  /** Every step of the saga, in saga order. */
  readonly steps: readonly StepView[];
  /** The map's shown fields of the succeeded steps, in saga order. */
  readonly shown: readonly ShownValue[];
  /** One entry per event type (the earliest copy), sorted by time, then saga order. */
  readonly timeline: readonly TimelineEntry[];
}

/** An order tracker's functions hold no `this`: they may be passed around on their own. */
export interface OrderTracker {
  /** The status alone, from the set of event types. */
  readonly statusOf: (types: Iterable<string>) => OrderStatus;
  /** Whether a status is final (completed or failed): no event changes it any more. */
  readonly isFinal: (status: number) => boolean;
  /** The order's state from its facts and the set of its recorded events. */
  readonly fold: (facts: OrderFacts, events: readonly RecordedEvent[]) => OrderState;
  /** A total order on events: time, then saga rank, then type, then id (ids are unique). */
  readonly compareEvents: (a: RecordedEvent, b: RecordedEvent) => number;
}

/** The order tracker of `saga`, reporting statuses as `codes`. Pure. */
export function createOrderTracker(saga: TrackedSaga, codes: StatusCodes): OrderTracker {
  const compareEvents = (a: RecordedEvent, b: RecordedEvent): number =>
    Date.parse(a.time) - Date.parse(b.time) ||
    saga.rankOf(a.type) - saga.rankOf(b.type) ||
    compareText(a.type, b.type) ||
    compareText(a.id, b.id);

  /**
   * Keeps one event per type: the earliest by `compareEvents`. Each step emits one outcome per
   * order, so a second copy (a producer retry under a new id) is the same fact and is ignored.
   */
  const distinctByType = (events: readonly RecordedEvent[]): RecordedEvent[] => {
    const byType = new Map<string, RecordedEvent>();
    for (const event of events) {
      const kept = byType.get(event.type);
      if (!kept || compareEvents(event, kept) < 0) byType.set(event.type, event);
    }
    return [...byType.values()].sort(compareEvents);
  };

  return {
    compareEvents,
    statusOf: (types) => codes[saga.verdict(types).status],
    isFinal: (status) => status === codes.completed || status === codes.failed,
    fold(facts, events) {
      const timeline = distinctByType(events);
      const progress = saga.track(timeline);
      const status = codes[progress.status];
      const byType = new Map(timeline.map((event) => [event.type, event.data]));
      // Success events in saga order: a detail comes from the first step that reports it.
      const successes = saga.steps
        .map((step) => byType.get(step.success.type))
        .filter((data) => data !== undefined);
      const detail = <T>(read: (data: Readonly<Record<string, unknown>>) => T | undefined) =>
        successes.reduce<T | undefined>((found, data) => found ?? read(data), undefined);
      const textOf = (field: string) => detail((data) => text(data, field));
      const integerOf = (field: string) => detail((data) => integer(data, field));
      const labels = new Map(saga.steps.map((step) => [step.name, step.label]));
      const { failure } = progress;
      return {
        status,
        statusText: statusText[status],
        // This service's own details (the seed's API), read by field name from whichever
        // steps report them; absent ones stay `undefined`, which JSON responses omit.
        priceCents: integerOf('priceCents') ?? facts.priceCents,
        restaurantPhone: textOf('restaurantPhone'),
        restaurantAddress: textOf('restaurantAddress'),
        riderId: textOf('riderId'),
        riderName: textOf('riderName'),
        riderPhone: textOf('riderPhone'),
        receiptId: textOf('receiptId'),
        amountCents: integerOf('amountCents'),
        ...(failure ? { rejection: { step: failure.step, reason: failure.reason } } : {}),
        compensated: progress.steps
          .filter((step) => step.state === 'compensated')
          .map((step) => step.name),
        steps: progress.steps.map((step) => ({
          name: step.name,
          label: labels.get(step.name) ?? step.name,
          state: step.state,
          ...(failure?.step === step.name ? { reason: failure.reason } : {}),
        })),
        shown: progress.shown,
        timeline: timeline.map(({ id, type, time, data }) => ({ id, type, time, data })),
      };
    },
  };
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function text(data: Readonly<Record<string, unknown>>, key: string): string | undefined {
  const value = data[key];
  return typeof value === 'string' ? value : undefined;
}

function integer(data: Readonly<Record<string, unknown>>, key: string): number | undefined {
  const value = data[key];
  return typeof value === 'number' && Number.isInteger(value) ? value : undefined;
}
