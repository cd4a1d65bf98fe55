import type { ShownField } from './declare.ts';

/**
 * The tracker's verdict, on the map's plain description (`SagaMap.describe()`), so a client
 * that received the description as JSON (a web page) decides exactly as the server does.
 * Pure: no I/O, no clock, no schemas.
 */

/** Where one step of one saga is, as far as the events received say. */
export type StepState = 'pending' | 'succeeded' | 'failed' | 'compensated';

/**
 * `started`: only the start event is known · `running`: a step succeeded · `completed`: the
 * last step succeeded · `failed`: a step failed (or a compensation proves one did), or the
 * saga's deadline passed.
 */
export type SagaStatus = 'started' | 'running' | 'completed' | 'failed';

export interface StepVerdict {
  readonly name: string;
  readonly state: StepState;
}

/** A saga's state from the SET of its event types. */
export interface SagaVerdict {
  readonly status: SagaStatus;
  /** Completed or failed: no event can change the status any more. */
  readonly final: boolean;
  /**
   * Final, and every compensation the failure calls for has been seen: no event the map knows
   * can change anything any more (a live view may close).
   */
  readonly settled: boolean;
  /** One per step, in saga order. */
  readonly steps: readonly StepVerdict[];
  /**
   * The first step, in saga order, whose failure event is known; with none, when the deadline
   * passed, the step the saga was waiting on (the first pending one).
   */
  readonly failedStep?: string;
  /**
   * The deadline's event is known: the saga failed for time, whatever arrives after (a late
   * success is undone, never completes the saga).
   */
  readonly timedOut: boolean;
  /** The steps that must compensate and have not yet, latest first (empty unless failed). */
  readonly awaitingCompensation: readonly string[];
}

/** One event as the tracker sees it: its type and data (only the type decides the status). */
export interface TrackedEvent {
  readonly type: string;
  readonly data?: Readonly<Record<string, unknown>>;
}

/** A shown field with its value, from the step's success event. */
export interface ShownValue extends ShownField {
  readonly step: string;
  readonly value: unknown;
}

export interface SagaProgress extends SagaVerdict {
  /** The failure with its reason, once the failure event is known. */
  readonly failure?: { readonly step: string; readonly type: string; readonly reason: string };
  /** The shown fields of every succeeded step whose success event is known, in saga order. */
  readonly shown: readonly ShownValue[];
}

/** What clients (a web page, a console) need to draw a saga: plain JSON, no schemas. */
export interface SagaDescription {
  readonly name: string;
  readonly label: string;
  readonly description?: string;
  readonly key: string;
  readonly start: { readonly type: string; readonly label: string; readonly producer: string };
  readonly steps: readonly {
    readonly name: string;
    readonly label: string;
    readonly description?: string;
    readonly trigger: string;
    readonly success: string;
    readonly failure: string;
    readonly reasonField: string;
    readonly compensation?: string;
    readonly compensateOn: readonly string[];
    readonly shows: readonly ShownField[];
  }[];
  readonly completion: string;
  /** The deadline: its default time, its event and that event's reason field. */
  readonly deadline?: {
    readonly afterMs: number;
    readonly type: string;
    readonly reasonField: string;
    /** The field of its event naming the step the saga waited on. */
    readonly waitingOnField?: string;
  };
}

/**
 * The verdict from the set of event types: see `SagaMap.verdict`. `waitingOn`: the step the
 * deadline's event says the saga waited on (its data; `progressOf` reads it), which then is the
 * failed step of a timed-out saga instead of the first step not known to have succeeded.
 */
export function verdictOf(
  saga: SagaDescription,
  types: Iterable<string>,
  waitingOn?: string,
): SagaVerdict {
  const has = new Set(types);
  const steps = saga.steps;
  const stepFailedAt = steps.findIndex((step) => has.has(step.failure));
  const timedOut = saga.deadline !== undefined && has.has(saga.deadline.type);
  const compensatedStep = (step: SagaDescription['steps'][number]) =>
    step.compensation !== undefined && has.has(step.compensation);
  // A step succeeded when its success is known, or any event that only follows it (a later
  // step's outcome, its own compensation) is.
  let laterSeen = false;
  const states: StepState[] = [];
  for (let index = steps.length - 1; index >= 0; index--) {
    const step = steps[index]!;
    const own = has.has(step.success);
    const compensated = compensatedStep(step);
    states.unshift(
      index === stepFailedAt
        ? 'failed'
        : compensated
          ? 'compensated'
          : own || laterSeen
            ? 'succeeded'
            : 'pending',
    );
    laterSeen ||= own || compensated || has.has(step.failure);
  }
  // Timed out with no step failure: the step the saga waited on failed, for time (shown as
  // failed unless a late success of it is known).
  const named = steps.findIndex((step) => step.name === waitingOn);
  const failedAt =
    stepFailedAt !== -1 || !timedOut
      ? stepFailedAt
      : named !== -1
        ? named
        : states.indexOf('pending');
  if (failedAt !== stepFailedAt && states[failedAt] === 'pending') states[failedAt] = 'failed';
  const failed = failedAt === -1 ? undefined : steps[failedAt]!;
  const status: SagaStatus =
    failed || timedOut || steps.some(compensatedStep)
      ? 'failed'
      : steps.length > 0 && has.has(saga.completion)
        ? 'completed'
        : laterSeen
          ? 'running'
          : 'started';
  // A step's failure calls back every step before it; the deadline every step that succeeded.
  const mustCompensate = (step: SagaDescription['steps'][number], index: number) =>
    (index < stepFailedAt || (timedOut && states[index] === 'succeeded')) &&
    step.compensation !== undefined &&
    !has.has(step.compensation);
  const awaiting = steps
    .filter(mustCompensate)
    .map((step) => step.name)
    .reverse();
  return {
    status,
    final: status === 'completed' || status === 'failed',
    settled: status === 'completed' || ((stepFailedAt !== -1 || timedOut) && awaiting.length === 0),
    steps: steps.map((step, index) => ({ name: step.name, state: states[index]! })),
    ...(failed ? { failedStep: failed.name } : {}),
    timedOut,
    awaitingCompensation: awaiting,
  };
}

/**
 * The verdict plus what the events' data say: the failure's reason and the shown fields. When
 * a type appears twice, the first copy given is used: pass events in a deterministic order
 * (e.g. by time, then saga rank) for a deterministic result.
 */
export function progressOf(saga: SagaDescription, events: readonly TrackedEvent[]): SagaProgress {
  const byType = new Map<string, TrackedEvent>();
  for (const event of events) if (!byType.has(event.type)) byType.set(event.type, event);
  const { deadline } = saga;
  const waitingOn =
    deadline?.waitingOnField === undefined
      ? undefined
      : byType.get(deadline.type)?.data?.[deadline.waitingOnField];
  const verdict = verdictOf(
    saga,
    byType.keys(),
    typeof waitingOn === 'string' ? waitingOn : undefined,
  );
  const failedStep = saga.steps.find((step) => step.name === verdict.failedStep);
  // The failure shown: the step's own failure event, else the deadline's (on the step waited
  // on, or the last step when every step's success arrived after it).
  const failedEvent =
    failedStep && byType.has(failedStep.failure)
      ? { type: failedStep.failure, reasonField: failedStep.reasonField }
      : verdict.timedOut && saga.deadline
        ? { type: saga.deadline.type, reasonField: saga.deadline.reasonField }
        : undefined;
  const failed = failedEvent && (failedStep ?? saga.steps.at(-1));
  const reason = failedEvent && byType.get(failedEvent.type)?.data?.[failedEvent.reasonField];
  const shown: ShownValue[] = [];
  for (const step of saga.steps) {
    const data = byType.get(step.success)?.data;
    if (!data) continue;
    for (const field of step.shows) {
      if (data[field.field] !== undefined) {
        shown.push({ ...field, step: step.name, value: data[field.field] });
      }
    }
  }
  return {
    ...verdict,
    ...(failed && failedEvent
      ? {
          failure: {
            step: failed.name,
            type: failedEvent.type,
            reason: typeof reason === 'string' && reason !== '' ? reason : 'no reason given',
          },
        }
      : {}),
    shown,
  };
}

/**
 * Each event type's position in saga order (start, then per step: success, failure,
 * compensation; the deadline's event last).
 */
export function eventOrder(saga: SagaDescription): readonly string[] {
  return [
    saga.start.type,
    ...saga.steps.flatMap((step) => [
      step.success,
      step.failure,
      ...(step.compensation === undefined ? [] : [step.compensation]),
    ]),
    ...(saga.deadline ? [saga.deadline.type] : []),
  ];
}
