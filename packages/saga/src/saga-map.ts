import {
  type ComposedSaga,
  composeSaga,
  type MapDeadline,
  type MapStep,
  type SagaEvent,
} from './compose.ts';
import type { SagaDeclaration, StepNameOf } from './declare.ts';
import {
  progressOf,
  type SagaDescription,
  type SagaProgress,
  type SagaVerdict,
  type TrackedEvent,
  verdictOf,
} from './verdict.ts';

export class SagaMapError extends Error {
  readonly saga: string;
  readonly problems: ComposedSaga['problems'];

  constructor(saga: string, problems: ComposedSaga['problems']) {
    super(
      `saga ${saga} is not sound:\n${problems.map((problem) => `  - ${problem.message}`).join('\n')}`,
    );
    this.name = 'SagaMapError';
    this.saga = saga;
    this.problems = problems;
  }
}

/**
 * The saga map: a saga composed from its steps' declarations. Everything that needs the saga's
 * shape (the tracker, a stepper, the notifier's final events, reconciliation, AsyncAPI, the
 * diagram) reads it here instead of knowing it.
 */
export class SagaMap<D extends SagaDeclaration = SagaDeclaration> {
  readonly name: string;
  readonly label: string;
  readonly description?: string;
  readonly key: string;
  readonly start: ComposedSaga['start'];
  readonly steps: readonly MapStep[];
  readonly events: readonly SagaEvent[];
  /** The success event of the last step. */
  readonly completion: string;
  /** When a saga that has not ended is failed, and the event that says so (see `SagaDeclaration`). */
  readonly deadline?: MapDeadline;
  private readonly byType: ReadonlyMap<string, SagaEvent>;
  private readonly rank: ReadonlyMap<string, number>;
  private readonly shape: SagaDescription;

  readonly declaration: D;

  constructor(declaration: D, composed: ComposedSaga) {
    this.declaration = declaration;
    this.name = composed.name;
    this.label = composed.label;
    if (composed.description !== undefined) this.description = composed.description;
    this.key = composed.key;
    this.start = composed.start;
    this.steps = composed.steps;
    this.events = composed.events;
    this.completion = composed.steps.at(-1)?.success.type ?? composed.start.type;
    if (composed.deadline) this.deadline = composed.deadline;
    this.byType = new Map(composed.events.map((event) => [event.type, event]));
    this.rank = new Map(composed.events.map((event, index) => [event.type, index]));
    this.shape = this.describeComposed();
  }

  step(name: StepNameOf<D>): MapStep;
  step(name: string): MapStep | undefined;
  step(name: string): MapStep | undefined {
    return this.steps.find((step) => step.name === name);
  }

  event(type: string): SagaEvent | undefined {
    return this.byType.get(type);
  }

  /** The event's position in saga order (ties between equal times); unknown types last. */
  rankOf(type: string): number {
    return this.rank.get(type) ?? this.events.length;
  }

  /**
   * The events that end a saga: the completion, each step's failure, then the deadline's event.
   * `step` is the step whose event it is (the last one for the deadline's); `reasonField` the
   * field saying why a failure happened.
   */
  get finalEvents(): readonly {
    readonly type: string;
    readonly outcome: 'completed' | 'failed' | 'timed_out';
    readonly step: string;
    readonly reasonField?: string;
  }[] {
    const last = this.steps.at(-1);
    if (!last) return [];
    return [
      { type: this.completion, outcome: 'completed' as const, step: last.name },
      ...this.steps.map((step) => ({
        type: step.failure.type,
        outcome: 'failed' as const,
        step: step.name,
        reasonField: step.failure.reasonField,
      })),
      ...(this.deadline
        ? [
            {
              type: this.deadline.expired.type,
              outcome: 'timed_out' as const,
              step: last.name,
              reasonField: this.deadline.expired.reasonField,
            },
          ]
        : []),
    ];
  }

  /** The steps that must undo their success when `failingStep` fails, latest first. */
  compensating(failingStep: string): readonly MapStep[] {
    const failing = this.step(failingStep);
    if (!failing) return [];
    return this.steps.filter((step) => step.index < failing.index && step.compensation).reverse();
  }

  /** Every event type a service consumes, per the map (the tracker consumes every step event). */
  consumedBy(service: string): readonly string[] {
    return this.events.filter((event) => event.consumers.includes(service)).map(({ type }) => type);
  }

  /**
   * The verdict from the set of event types. Guarantee: it depends only on which types are in
   * `types`, never on their order or repeats, so any arrival order gives the same status.
   */
  verdict(types: Iterable<string>): SagaVerdict {
    return verdictOf(this.shape, types);
  }

  /** The verdict plus the failure's reason and the shown fields (see `progressOf`). */
  track(events: readonly TrackedEvent[]): SagaProgress {
    return progressOf(this.shape, events);
  }

  /** The map as plain JSON, for clients that draw it (served by a BFF, read by a web page). */
  describe(): SagaDescription {
    return this.shape;
  }

  private describeComposed(): SagaDescription {
    return {
      name: this.name,
      label: this.label,
      ...(this.description === undefined ? {} : { description: this.description }),
      key: this.key,
      start: { type: this.start.type, label: this.start.label, producer: this.start.producer },
      steps: this.steps.map((step) => ({
        name: step.name,
        label: step.label,
        ...(step.description === undefined ? {} : { description: step.description }),
        trigger: step.trigger,
        success: step.success.type,
        failure: step.failure.type,
        reasonField: step.failure.reasonField,
        ...(step.compensation ? { compensation: step.compensation.type } : {}),
        compensateOn: step.compensateOn,
        shows: step.shows,
      })),
      completion: this.completion,
      ...(this.deadline
        ? {
            deadline: {
              afterMs: this.deadline.afterMs,
              type: this.deadline.expired.type,
              reasonField: this.deadline.expired.reasonField,
              ...(this.deadline.waitingOnField === undefined
                ? {}
                : { waitingOnField: this.deadline.waitingOnField }),
            },
          }
        : {}),
    };
  }
}

/** The problems of a declaration (empty when sound). Never throws. */
export function checkSaga(declaration: SagaDeclaration): ComposedSaga['problems'] {
  return composeSaga(declaration).problems;
}

/** Composes a saga's map; throws `SagaMapError` listing every problem when it is not sound. */
export function defineSaga<const D extends SagaDeclaration>(declaration: D): SagaMap<D> {
  const composed = composeSaga(declaration);
  if (composed.problems.length > 0) throw new SagaMapError(declaration.name, composed.problems);
  return new SagaMap(declaration, composed);
}
