import type { Static, TSchema } from 'typebox';

/**
 * Declarations: what a step service says about its step, next to its event contracts, and what
 * a saga says about itself. They are plain data with types that flow from the contracts: an
 * event's `type` is a literal, a reason field must be a field of its event, a shown field a
 * field of the success event, so a typo is a compile error where the declaration is written.
 */

/** One event of a saga: its type and the schema of its data (the producer's contract). */
export interface EventDeclaration<T extends string = string, S extends TSchema = TSchema> {
  readonly type: T;
  readonly schema: S;
}

/** Field names of an event's data, as a string union (for reason and shown fields). */
export type FieldOf<S extends TSchema> =
  unknown extends Static<S> ? string : Extract<keyof Static<S>, string>;

/** A step's failure: the event that says it refused, and the data field holding why. */
export interface FailureDeclaration<
  T extends string = string,
  S extends TSchema = TSchema,
> extends EventDeclaration<T, S> {
  readonly reasonField: string;
}

/** A field worth showing a person watching the saga (e.g. on a progress page). */
export interface ShownField<F extends string = string> {
  readonly field: F;
  readonly label: string;
  /** How a client should render it; `text` when absent. */
  readonly format?: 'text' | 'cents';
}

/**
 * One step of a choreography, declared by the service that performs it.
 *
 * - `input`: the data the step needs from the event that triggers it. The step does not name
 *   that event: the saga map decides which step comes before it, and checks that the event
 *   before it carries these fields.
 * - `success` / `failure`: the events it emits; `failure.reasonField` carries why it refused.
 * - `compensation`: the event it emits once it has undone its success, because a later step
 *   failed. A step without one cannot be undone: `cads saga check` refuses a map where a step
 *   that can fail comes after it.
 */
export interface StepDeclaration<
  N extends string = string,
  I extends TSchema = TSchema,
  S extends EventDeclaration = EventDeclaration,
  F extends FailureDeclaration = FailureDeclaration,
  C extends EventDeclaration | undefined = EventDeclaration | undefined,
> {
  readonly name: N;
  /** A short human name, e.g. for a stepper: "Invoice". */
  readonly label: string;
  /** What the step does, one sentence (diagrams, docs, the operations console). */
  readonly description?: string;
  readonly input: I;
  readonly success: S;
  readonly failure: F;
  readonly compensation?: C;
  /** Fields of the success event a person watching the saga should see, in order. */
  readonly shows?: readonly ShownField[];
}

/** Declares a step; the identity function, there for the types (literal names, checked fields). */
export function defineStep<
  const N extends string,
  I extends TSchema,
  const ST extends string,
  SS extends TSchema,
  const FT extends string,
  FS extends TSchema,
  const CT extends string = never,
  CS extends TSchema = TSchema,
>(step: {
  readonly name: N;
  readonly label: string;
  readonly description?: string;
  readonly input: I;
  readonly success: EventDeclaration<ST, SS>;
  readonly failure: EventDeclaration<FT, FS> & { readonly reasonField: FieldOf<FS> };
  readonly compensation?: EventDeclaration<CT, CS>;
  readonly shows?: readonly ShownField<FieldOf<SS>>[];
}): StepDeclaration<
  N,
  I,
  EventDeclaration<ST, SS>,
  FailureDeclaration<FT, FS>,
  [CT] extends [never] ? undefined : EventDeclaration<CT, CS>
> {
  return step as never;
}

/**
 * A place in the saga: a step, after the step named by `after` (default: the entry before it
 * in the list; the first entry follows the start event).
 */
export interface StepEntry<D extends StepDeclaration = StepDeclaration> {
  readonly step: D;
  readonly after?: string;
}

/**
 * A saga's deadline: a saga with no final event `afterMs` after its start is failed by its
 * tracker (the start event's producer), which emits `expired`. Every step that succeeded
 * compensates on it, and a step that has not run yet never will. The deadline may pass after
 * any step, so a saga with one needs every step to declare a compensation.
 */
export interface DeadlineDeclaration<T extends string = string, S extends TSchema = TSchema> {
  /** The default time a saga has, from its start event; a tracker may be given another. */
  readonly afterMs: number;
  /** The event the tracker emits when the deadline passes; its reason field says why. */
  readonly expired: FailureDeclaration<T, S>;
  /**
   * The field of `expired` naming the step the saga was waiting on when the deadline passed,
   * which the tracker sets: a view shows the failure there, whatever arrives late.
   */
  readonly waitingOnField?: string;
}

/** A saga as its author declares it. */
export interface SagaDeclaration<
  Start extends EventDeclaration = EventDeclaration,
  Steps extends readonly (StepDeclaration | StepEntry)[] = readonly (StepDeclaration | StepEntry)[],
> {
  readonly name: string;
  readonly label?: string;
  readonly description?: string;
  /**
   * The saga's subject: the data field every event of the saga carries and that identifies one
   * saga (e.g. a parcel id). Events are keyed by it on the broker, and records by it in stores.
   */
  readonly key: string;
  /** The event that starts a saga, and the service that emits it (and tracks the saga). */
  readonly start: Start & { readonly producer: string; readonly label?: string };
  /** The steps; a saga completes when the last one succeeds. */
  readonly steps: Steps;
  /** When a saga that has not ended is failed (none: a saga may run forever). */
  readonly deadline?: DeadlineDeclaration;
}

type DeclOf<E> = E extends StepEntry<infer D> ? D : E extends StepDeclaration ? E : never;

/** The step declarations of a saga declaration, as a union. */
export type StepsOf<D extends SagaDeclaration> = DeclOf<D['steps'][number]>;
/** Every step name of a saga. */
export type StepNameOf<D extends SagaDeclaration> = StepsOf<D>['name'];
/** Every success event type. */
export type SuccessTypeOf<D extends SagaDeclaration> = StepsOf<D>['success']['type'];
/** Every failure event type. */
export type FailureTypeOf<D extends SagaDeclaration> = StepsOf<D>['failure']['type'];
/** Every compensation event type. */
export type CompensationTypeOf<D extends SagaDeclaration> = NonNullable<
  StepsOf<D>['compensation']
>['type'];
/** The deadline's event type (`never` for a saga without a deadline). */
export type ExpiredTypeOf<D extends SagaDeclaration> = NonNullable<
  D['deadline']
>['expired']['type'];
/** Every event type of the saga. */
export type EventTypeOf<D extends SagaDeclaration> =
  | D['start']['type']
  | SuccessTypeOf<D>
  | FailureTypeOf<D>
  | CompensationTypeOf<D>
  | ExpiredTypeOf<D>;
