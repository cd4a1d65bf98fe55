import type { OrderView } from '@cads/bff/contracts';
import { progressOf, type SagaDescription, type ShownValue } from '@cads/saga/verdict';

/**
 * What the order screen shows, derived from the saga's map (`GET /api/saga`) and the order's
 * saga events alone. The decisions are the map's (`progressOf`), so the page and the server
 * agree; this module only turns them into what a stepper draws.
 *
 * Guarantee: `orderProgress(saga, events)` depends only on the SET of events: their arrival
 * order and repeats (the same event id twice, as when a snapshot and a live event overlap) never
 * change the result. A late forward event never hides a rejection. Pure: no I/O, no clock, no
 * DOM.
 */

export type TimelineEntry = OrderView['timeline'][number];
export type StepState = 'pending' | 'active' | 'done' | 'rejected' | 'compensated';
export type OrderOutcome = 'pending' | 'completed' | 'cancelled';

export interface StepProgress {
  /** The step's name in the map; for the first step, the start event's producer. */
  readonly name: string;
  readonly label: string;
  readonly state: StepState;
  /** Why the step rejected the order; only when `state` is `rejected`. */
  readonly reason?: string;
  /** The step's shown fields whose values are known, in the map's order. */
  readonly shown: readonly ShownValue[];
}

export interface OrderProgress {
  /** The start event's step, then one per step of the map, in saga order. */
  readonly steps: readonly StepProgress[];
  readonly outcome: OrderOutcome;
  /** The saga has ended: every step succeeded, or one rejected the order. */
  readonly final: boolean;
  /**
   * Final and every compensation the rejection causes has been seen: no further event can change
   * what the screen shows, so a live connection may close.
   */
  readonly settled: boolean;
  /**
   * The first step, in saga order, that rejected the order; when the saga's deadline passed,
   * the step it was waiting on, with the deadline's reason.
   */
  readonly rejection?: { readonly step: string; readonly label: string; readonly reason: string };
  /** The saga's deadline passed before it ended: it failed for time. */
  readonly timedOut: boolean;
  /** The step to draw as current: the one in progress, the rejected one, or the last one. */
  readonly current: string;
  /** Steps whose compensation the rejection calls for and that has not arrived yet. */
  readonly awaitingCompensation: readonly string[];
}

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

/** The order screen's state from the saga's map and the set of the order's saga events. Pure. */
export function orderProgress(
  saga: SagaDescription,
  events: Iterable<TimelineEntry>,
): OrderProgress {
  // `progressOf` keeps the first copy of a type it is given: earliest by time, then id, wins
  // (a producer's retry under a new id is the same fact), whatever the order of arrival.
  const ordered = [...events].sort(byTimeThenId);
  const progress = progressOf(
    saga,
    // Payloads are JSON objects (checked at the edge, `parse.ts`) with any fields, read as unknown.
    ordered.map(({ type, data }) => ({ type, data: data as Readonly<Record<string, unknown>> })),
  );
  const started = ordered.length > 0;
  const outcome: OrderOutcome =
    progress.status === 'completed'
      ? 'completed'
      : progress.status === 'failed'
        ? 'cancelled'
        : 'pending';

  const steps: StepProgress[] = [
    {
      name: saga.start.producer,
      label: saga.start.label,
      state: started ? 'done' : 'active',
      shown: [],
    },
  ];
  saga.steps.forEach((step, index) => {
    const verdict = progress.steps[index]?.state ?? 'pending';
    const previousDone = steps[index]?.state === 'done';
    const shown = progress.shown.filter((value) => value.step === step.name && isShowable(value));
    const base = { name: step.name, label: step.label, shown };
    if (verdict === 'failed') {
      steps.push({ ...base, state: 'rejected', reason: progress.failure?.reason ?? '' });
    } else if (verdict === 'compensated') {
      steps.push({ ...base, state: 'compensated' });
    } else if (verdict === 'succeeded') {
      steps.push({ ...base, state: 'done' });
    } else {
      steps.push({ ...base, state: previousDone && !progress.final ? 'active' : 'pending' });
    }
  });

  const failure = progress.failure;
  const failed = failure && steps.find(({ name }) => name === failure.step);
  const rejection =
    failure && failed
      ? { step: failed.name, label: failed.label, reason: failure.reason }
      : undefined;
  const current =
    rejection?.step ??
    steps.find(({ state }) => state === 'active')?.name ??
    (progress.final ? steps[steps.length - 1]!.name : saga.start.producer);

  return {
    steps,
    outcome,
    final: progress.final,
    settled: progress.settled,
    ...(rejection ? { rejection } : {}),
    timedOut: progress.timedOut,
    current,
    awaitingCompensation: progress.awaitingCompensation,
  };
}

function byTimeThenId(a: TimelineEntry, b: TimelineEntry): number {
  const at = timeOf(a);
  const bt = timeOf(b);
  if (at !== bt) return at < bt ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Epoch ms; a malformed time sorts last, so the order stays total. */
function timeOf(event: TimelineEntry): number {
  const time = Date.parse(event.time);
  return Number.isNaN(time) ? Number.POSITIVE_INFINITY : time;
}

/**
 * A value the page can draw in its format: money as integer cents, text as a non-blank string
 * (or a number). Anything else in a payload is left out rather than drawn wrongly.
 */
function isShowable({ format, value }: ShownValue): boolean {
  if (format === 'cents') {
    return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
  }
  return (
    (typeof value === 'string' && value.trim() !== '') ||
    (typeof value === 'number' && Number.isFinite(value))
  );
}
