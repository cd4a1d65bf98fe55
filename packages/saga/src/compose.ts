import type { TSchema } from 'typebox';
import type {
  EventDeclaration,
  FailureDeclaration,
  SagaDeclaration,
  ShownField,
  StepDeclaration,
  StepEntry,
} from './declare.ts';

/**
 * Composition: the saga map built from a saga's declaration, and every mistake found on the
 * way. Composing never throws, so one pass reports every problem (`cads saga check`); a
 * runtime that needs a sound map uses `defineSaga`, which refuses one with problems.
 */

/** A step in the composed map: its declaration plus what the map decided for it. */
export interface MapStep {
  readonly name: string;
  readonly label: string;
  readonly description?: string;
  /** Position in the saga, from 0. */
  readonly index: number;
  /** The event that triggers the step: the start event or the success of the step before. */
  readonly trigger: string;
  readonly input: TSchema;
  readonly success: EventDeclaration;
  readonly failure: FailureDeclaration;
  readonly compensation?: EventDeclaration;
  readonly shows: readonly ShownField[];
  /**
   * The events after which this step must undo its success: the failures of every later step,
   * and the saga's deadline event (empty for a step that cannot be undone).
   */
  readonly compensateOn: readonly string[];
}

export type EventRole = 'start' | 'success' | 'failure' | 'compensation' | 'expiry';

/** The saga's deadline in the map: its default time and the event its tracker emits. */
export interface MapDeadline {
  readonly afterMs: number;
  readonly expired: FailureDeclaration;
  readonly waitingOnField?: string;
}

/** One event of the map: who emits it, who consumes it and what it means. */
export interface SagaEvent {
  readonly type: string;
  readonly schema: TSchema;
  readonly role: EventRole;
  /** The step it belongs to (not for the start event). */
  readonly step?: string;
  /** The service that emits it: the step's name, or the start event's producer. */
  readonly producer: string;
  /** The services that consume it (the tracker, the start event's producer, consumes all but its own). */
  readonly consumers: readonly string[];
}

export interface SagaProblem {
  /** A stable code, for tests and tools. */
  readonly code:
    | 'empty'
    | 'duplicate-step'
    | 'duplicate-event'
    | 'no-producer'
    | 'no-consumer'
    | 'cycle'
    | 'fork'
    | 'unreachable'
    | 'uncompensated'
    | 'invalid-deadline'
    | 'input-not-carried'
    | 'missing-key'
    | 'missing-reason-field'
    | 'missing-shown-field';
  readonly message: string;
}

export interface ComposedSaga {
  readonly name: string;
  readonly label: string;
  readonly description?: string;
  readonly key: string;
  readonly start: EventDeclaration & { readonly producer: string; readonly label: string };
  /** The steps reachable from the start event, in saga order. */
  readonly steps: readonly MapStep[];
  readonly deadline?: MapDeadline;
  /**
   * Every event, in saga order (start, then per step: success, failure, compensation; the
   * deadline's event last).
   */
  readonly events: readonly SagaEvent[];
  readonly problems: readonly SagaProblem[];
}

const entryOf = (entry: StepDeclaration | StepEntry): StepEntry =>
  'step' in entry && typeof entry.step === 'object' ? entry : { step: entry as StepDeclaration };

export function composeSaga(declaration: SagaDeclaration): ComposedSaga {
  const problems: SagaProblem[] = [];
  const problem = (code: SagaProblem['code'], message: string) => problems.push({ code, message });
  const entries = declaration.steps.map(entryOf);
  const { start, deadline } = declaration;
  if (entries.length === 0) problem('empty', `saga ${declaration.name} declares no step`);

  // Names and events are unique: one producer per event type, one place per step.
  const byName = new Map<string, StepEntry>();
  for (const entry of entries) {
    if (byName.has(entry.step.name)) {
      problem('duplicate-step', `step ${entry.step.name} is declared twice`);
    } else byName.set(entry.step.name, entry);
  }
  const producers = new Map<string, string>([[start.type, start.producer]]);
  if (deadline) {
    if (deadline.expired.type === start.type) {
      problem('duplicate-event', `event ${start.type} is both the start and the deadline event`);
    }
    producers.set(deadline.expired.type, start.producer);
    if (!Number.isSafeInteger(deadline.afterMs) || deadline.afterMs <= 0) {
      problem(
        'invalid-deadline',
        `the deadline must be a positive whole number of milliseconds, not ${String(deadline.afterMs)}`,
      );
    }
  }
  for (const { step } of entries) {
    for (const event of stepEvents(step)) {
      const other = producers.get(event.type);
      if (other !== undefined && other !== step.name) {
        problem(
          'duplicate-event',
          `event ${event.type} is emitted by both ${other} and ${step.name}: each event has one producer`,
        );
      } else producers.set(event.type, step.name);
    }
  }

  // Who follows whom: `after`, or the entry before; the first entry follows the start event.
  const startNode = '';
  const predecessor = new Map<string, string>();
  entries.forEach(({ step, after }, i) => {
    const previous = after ?? (i === 0 ? startNode : entries[i - 1]!.step.name);
    if (previous !== startNode && !byName.has(previous)) {
      problem(
        'no-producer',
        `step ${step.name} follows ${previous}, which is not a step of the saga: its trigger event has no producer`,
      );
    }
    predecessor.set(step.name, previous);
  });
  const successors = new Map<string, string[]>();
  for (const [name, previous] of predecessor) {
    successors.set(previous, [...(successors.get(previous) ?? []), name]);
  }
  for (const [previous, next] of successors) {
    if (next.length > 1) {
      const from = previous === startNode ? `the start event ${start.type}` : `step ${previous}`;
      problem(
        'fork',
        `${next.join(' and ')} both follow ${from}: a saga is one chain of steps, each triggered by the success of the one before`,
      );
    }
  }
  // The chain from the start event; a name seen twice closes a cycle.
  const chain: StepEntry[] = [];
  const seen = new Set<string>();
  for (let at = successors.get(startNode)?.[0]; at !== undefined;) {
    if (seen.has(at)) break;
    seen.add(at);
    chain.push(byName.get(at)!);
    at = successors.get(at)?.[0];
  }
  const cyclic = findCycles(predecessor);
  for (const cycle of cyclic) {
    problem('cycle', `steps ${cycle.join(' → ')} → ${cycle[0]} follow each other in a cycle`);
  }
  const inCycle = new Set(cyclic.flat());
  for (const name of byName.keys()) {
    if (!seen.has(name) && !inCycle.has(name)) {
      problem(
        'unreachable',
        `step ${name} is unreachable from the start event ${start.type}: no chain of successes leads to it`,
      );
    }
  }

  const steps: MapStep[] = chain.map(({ step }, index) => ({
    name: step.name,
    label: step.label,
    ...(step.description === undefined ? {} : { description: step.description }),
    index,
    trigger: index === 0 ? start.type : chain[index - 1]!.step.success.type,
    input: step.input,
    success: step.success,
    failure: step.failure,
    ...(step.compensation ? { compensation: step.compensation } : {}),
    shows: step.shows ?? [],
    compensateOn: step.compensation
      ? [
          ...chain.slice(index + 1).map((later) => later.step.failure.type),
          ...(deadline ? [deadline.expired.type] : []),
        ]
      : [],
  }));

  for (const step of steps) {
    // A step that cannot be undone, with a step after it that can fail.
    const later = steps[step.index + 1];
    if (!step.compensation && later) {
      problem(
        'uncompensated',
        `when ${later.name} fails (${later.failure.type}), ${step.name} has succeeded and stays done: it declares no compensation`,
      );
    } else if (!step.compensation && deadline) {
      problem(
        'uncompensated',
        `when the saga's deadline passes (${deadline.expired.type}), ${step.name} may have succeeded and stays done: it declares no compensation`,
      );
    }
    const triggerSchema = step.index === 0 ? start.schema : steps[step.index - 1]!.success.schema;
    for (const missing of missingFields(step.input, triggerSchema)) {
      problem(
        'input-not-carried',
        `step ${step.name} needs ${missing}, which its trigger event ${step.trigger} does not carry`,
      );
    }
    if (!hasField(step.failure.schema, step.failure.reasonField)) {
      problem(
        'missing-reason-field',
        `${step.failure.type} has no field ${step.failure.reasonField} to carry the reason`,
      );
    }
    for (const { field } of step.shows) {
      if (!hasField(step.success.schema, field)) {
        problem('missing-shown-field', `${step.success.type} has no field ${field} to show`);
      }
    }
  }

  const tracker = start.producer;
  const events: SagaEvent[] = [
    {
      type: start.type,
      schema: start.schema,
      role: 'start',
      producer: tracker,
      consumers: steps[0] ? [steps[0].name] : [],
    },
  ];
  for (const step of steps) {
    const next = steps[step.index + 1];
    const compensators = steps
      .filter((earlier) => earlier.compensateOn.includes(step.failure.type))
      .map((earlier) => earlier.name);
    events.push(
      event(step.success, 'success', step.name, [...(next ? [next.name] : []), tracker]),
      event(step.failure, 'failure', step.name, [...compensators, tracker]),
    );
    if (step.compensation) {
      events.push(event(step.compensation, 'compensation', step.name, [tracker]));
    }
  }
  if (deadline) {
    // The tracker records its own deadline event as it emits it: it does not consume it.
    events.push({
      type: deadline.expired.type,
      schema: deadline.expired.schema,
      role: 'expiry',
      producer: tracker,
      consumers: steps.filter((step) => step.compensation).map((step) => step.name),
    });
    if (!hasField(deadline.expired.schema, deadline.expired.reasonField)) {
      problem(
        'missing-reason-field',
        `${deadline.expired.type} has no field ${deadline.expired.reasonField} to carry the reason`,
      );
    }
    if (
      deadline.waitingOnField !== undefined &&
      !hasField(deadline.expired.schema, deadline.waitingOnField)
    ) {
      problem(
        'missing-reason-field',
        `${deadline.expired.type} has no field ${deadline.waitingOnField} to name the step waited on`,
      );
    }
  }
  for (const saga of events) {
    if (!hasField(saga.schema, declaration.key)) {
      problem('missing-key', `${saga.type} does not carry the saga's key ${declaration.key}`);
    }
    if (saga.consumers.length === 0) {
      problem('no-consumer', `event ${saga.type} has no consumer`);
    }
  }

  return {
    name: declaration.name,
    label: declaration.label ?? declaration.name,
    ...(declaration.description === undefined ? {} : { description: declaration.description }),
    key: declaration.key,
    start: { ...start, label: start.label ?? start.type },
    steps,
    ...(deadline
      ? {
          deadline: {
            afterMs: deadline.afterMs,
            expired: deadline.expired,
            ...(deadline.waitingOnField === undefined
              ? {}
              : { waitingOnField: deadline.waitingOnField }),
          },
        }
      : {}),
    events,
    problems,
  };
}

function event(
  declared: EventDeclaration,
  role: EventRole,
  step: string,
  consumers: readonly string[],
): SagaEvent {
  return { type: declared.type, schema: declared.schema, role, step, producer: step, consumers };
}

function stepEvents(step: StepDeclaration): EventDeclaration[] {
  return [step.success, step.failure, ...(step.compensation ? [step.compensation] : [])];
}

/** Cycles among `after` links (each name has one predecessor, so cycles are disjoint). */
function findCycles(predecessor: ReadonlyMap<string, string>): string[][] {
  const cycles: string[][] = [];
  const done = new Set<string>();
  for (const first of predecessor.keys()) {
    const path: string[] = [];
    let at: string | undefined = first;
    while (at !== undefined && predecessor.has(at) && !done.has(at) && !path.includes(at)) {
      path.push(at);
      at = predecessor.get(at);
    }
    if (at !== undefined && path.includes(at)) {
      cycles.push(path.slice(path.indexOf(at)).reverse());
    }
    for (const name of path) done.add(name);
  }
  return cycles;
}

interface ObjectSchema {
  readonly properties?: Readonly<
    Record<string, { readonly type?: unknown; readonly const?: unknown }>
  >;
  readonly required?: readonly string[];
}

function hasField(schema: TSchema, field: string): boolean {
  return Object.hasOwn((schema as ObjectSchema).properties ?? {}, field);
}

/**
 * The input's required fields the event does not guarantee: absent, optional there, or of
 * another JSON type or constant.
 */
function missingFields(input: TSchema, event: TSchema): string[] {
  const wanted = input as ObjectSchema;
  const offered = event as ObjectSchema;
  const required = new Set(offered.required ?? []);
  const missing: string[] = [];
  for (const field of wanted.required ?? []) {
    const want = wanted.properties?.[field];
    const have = offered.properties?.[field];
    const kind = typeof want?.type === 'string' ? ` (${want.type})` : '';
    if (!have || !required.has(field)) missing.push(`${field}${kind}`);
    else if (want?.type !== undefined && have.type !== undefined && want.type !== have.type) {
      missing.push(`${field}${kind}`);
    } else if (want?.const !== undefined && want.const !== have.const) {
      missing.push(`${field} = ${JSON.stringify(want.const)}`);
    }
  }
  return missing;
}
