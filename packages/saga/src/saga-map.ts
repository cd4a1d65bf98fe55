import { type ComposedSaga, composeSaga, type MapStep, type SagaEvent } from './compose.ts';
import type { SagaDeclaration, ShownField, StepNameOf } from './declare.ts';

/** Where one step of one saga is, as far as the events received say. */
export type StepState = 'pending' | 'succeeded' | 'failed' | 'compensated';

/**
 * `started`: only the start event is known · `running`: a step succeeded · `completed`: the
 * last step succeeded · `failed`: a step failed (or a compensation proves one did).
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
  /** The first step, in saga order, whose failure event is known. */
  readonly failedStep?: string;
  /** The steps that must compensate and have not yet (empty unless failed). */
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
}

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
  private readonly byType: ReadonlyMap<string, SagaEvent>;
  private readonly rank: ReadonlyMap<string, number>;

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
    this.byType = new Map(composed.events.map((event) => [event.type, event]));
    this.rank = new Map(composed.events.map((event, index) => [event.type, index]));
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

  /** The events that end a saga: the completion, then each step's failure. */
  get finalEvents(): readonly {
    readonly type: string;
    readonly outcome: 'completed' | 'failed';
    readonly step: string;
  }[] {
    const last = this.steps.at(-1);
    return [
      ...(last ? [{ type: this.completion, outcome: 'completed' as const, step: last.name }] : []),
      ...this.steps.map((step) => ({
        type: step.failure.type,
        outcome: 'failed' as const,
        step: step.name,
      })),
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
    const has = new Set(types);
    const failedAt = this.steps.find((step) => has.has(step.failure.type));
    // A step succeeded when its success is known, or any event that only follows it (a later
    // step's outcome, its own compensation) is.
    let laterSeen = false;
    const states: StepState[] = [];
    for (const step of [...this.steps].reverse()) {
      const own = has.has(step.success.type);
      const compensated = step.compensation !== undefined && has.has(step.compensation.type);
      states.unshift(
        step === failedAt
          ? 'failed'
          : compensated
            ? 'compensated'
            : own || laterSeen
              ? 'succeeded'
              : 'pending',
      );
      laterSeen ||= own || compensated || has.has(step.failure.type);
    }
    const anyCompensation = this.steps.some(
      (step) => step.compensation !== undefined && has.has(step.compensation.type),
    );
    const status: SagaStatus =
      failedAt || anyCompensation
        ? 'failed'
        : has.has(this.completion) && this.steps.length > 0
          ? 'completed'
          : laterSeen
            ? 'running'
            : 'started';
    const awaiting = failedAt
      ? this.compensating(failedAt.name)
          .filter((step) => !has.has(step.compensation!.type))
          .map((step) => step.name)
      : [];
    return {
      status,
      final: status === 'completed' || status === 'failed',
      settled: status === 'completed' || (failedAt !== undefined && awaiting.length === 0),
      steps: this.steps.map((step, index) => ({ name: step.name, state: states[index]! })),
      ...(failedAt ? { failedStep: failedAt.name } : {}),
      awaitingCompensation: awaiting,
    };
  }

  /**
   * The verdict plus what the events' data say: the failure's reason and the shown fields.
   * When a type appears twice, the first copy given is used: pass events in a deterministic
   * order (e.g. by time, then `rankOf`) for a deterministic result.
   */
  track(events: readonly TrackedEvent[]): SagaProgress {
    const byType = new Map<string, TrackedEvent>();
    for (const event of events) if (!byType.has(event.type)) byType.set(event.type, event);
    const verdict = this.verdict(byType.keys());
    const failed = verdict.failedStep === undefined ? undefined : this.step(verdict.failedStep);
    const failureData = failed && byType.get(failed.failure.type)?.data;
    const reason = failureData?.[failed!.failure.reasonField];
    const shown: ShownValue[] = [];
    for (const step of this.steps) {
      const data = byType.get(step.success.type)?.data;
      if (!data) continue;
      for (const field of step.shows) {
        if (data[field.field] !== undefined) {
          shown.push({ ...field, step: step.name, value: data[field.field] });
        }
      }
    }
    return {
      ...verdict,
      ...(failed
        ? {
            failure: {
              step: failed.name,
              type: failed.failure.type,
              reason: typeof reason === 'string' && reason !== '' ? reason : 'no reason given',
            },
          }
        : {}),
      shown,
    };
  }

  /** The map as plain JSON, for clients that draw it (served by a BFF, read by a web page). */
  describe(): SagaDescription {
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
