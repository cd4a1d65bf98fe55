import {
  type ConsumerOptions,
  type Emit,
  type HandlerDefinition,
  type OutagePolicy,
  on,
  RetryableError,
  type RetryPolicy,
  TerminalError,
  UnavailableError,
} from '@cads/consumer';
import { credentialRefused, type ExternalResult, isExternalOutage } from '@cads/http';
import type { EventDeclaration, MapStep, SagaMap, StepDeclaration } from '@cads/saga';
import Type, { type Static, type TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { Value } from 'typebox/value';
import type { ExternalSystemOptions } from './external-endpoint.ts';
import {
  decideCompensationCommit,
  decideForwardCommit,
  planCompensation,
  planForward,
} from './step-decisions.ts';
import { createStepStore, type NewStepRecord, type StepStore } from './step-store.ts';

/** The data of a saga event, as far as the runtime knows it. */
export type SagaData = Readonly<Record<string, unknown>>;

/** What a compensation knows of the success it undoes. */
export interface Undone<I> {
  readonly sagaId: string;
  /** The forward input the step succeeded with; undefined for a tombstone (nothing to undo). */
  readonly input: I | undefined;
  /** The failure event that called for the compensation: it carries at least the saga key. */
  readonly cause: SagaData;
}

type InputOf<D extends StepDeclaration> = Static<D['input']>;
type DataOf<E> = E extends EventDeclaration ? Static<E['schema']> : never;

/** How the step calls its external system and turns its answers into the step's events. */
export interface ForwardOptions<D extends StepDeclaration, A extends TSchema> {
  /** The external system's success body. Another body is a contract breach → dead letter. */
  readonly answer: A;
  /** The forward call. Must carry the step's idempotency key: it may run more than once. */
  readonly call: (input: InputOf<D>) => Promise<ExternalResult>;
  /** The success event's data. */
  readonly succeeded: (input: InputOf<D>, answer: Static<A>) => DataOf<D['success']>;
  /** The failure event's data, with the system's reason. */
  readonly failed: (input: InputOf<D>, reason: string) => DataOf<D['failure']>;
  /**
   * How long the step waits out an unreachable system (no answer after the call's own
   * retries) for one saga, counted from the first call that found it unreachable: until then it
   * is an outage, waited out (the consumer keeps the message behind its circuit breaker); after
   * it, the step is rejected with a reason that says the system was unreachable, so the saga
   * ends and compensates instead of waiting forever. A time, not a number of attempts: an
   * outage makes no attempts while the circuit is open. Counted from the step's own first
   * failure, not from the event's time: a step working through a backlog of old events must not
   * reject one because a single call met the system restarting. The count is kept in the
   * process, so a crash restarts it (the saga waits longer, never less). Default 5 minutes.
   */
  readonly unreachableTimeoutMs?: number;
  /** For tests: the clock the deadline is read on. Default `Date.now`. */
  readonly now?: () => number;
  /** For tests: where the step's records are kept. Default: `cads_saga_steps`. */
  readonly store?: StepStore;
}

/** How a step that can be undone undoes its success. */
export interface CompensationOptions<D extends StepDeclaration> {
  /**
   * Undoes the step at the external system, with the step's release idempotency key. Called
   * with the input the step succeeded with, also for a reservation that raced a tombstone.
   */
  readonly release: (input: InputOf<D>) => Promise<ExternalResult>;
  /** The compensation event's data. */
  readonly compensated: (undone: Undone<InputOf<D>>) => DataOf<D['compensation']>;
}

/** A step that declares a compensation must say how to release; one without one may not. */
export type SagaStepOptions<
  D extends StepDeclaration,
  A extends TSchema = TSchema,
> = ForwardOptions<D, A> &
  ([NonNullable<D['compensation']>] extends [never]
    ? Partial<CompensationOptions<D>>
    : CompensationOptions<D>);

/** What `prepare` learnt from the external system, for `handle`. */
export type ForwardPrepared<A> =
  | { readonly answer: 'accepted'; readonly body: A }
  | { readonly answer: 'rejected'; readonly reason: string }
  | { readonly answer: 'not_called' };

/**
 * The consumer handlers of one saga step, derived from the saga map: the step's trigger event
 * (the start event or the previous step's success) runs it forward, and each failure event of a
 * later step (`compensateOn`) undoes it. Inserting a step into the map therefore changes the
 * subscriptions of the steps around it without touching their code. The step is passed as its
 * declaration, so the options are typed by its input and events; the map must hold it.
 *
 * The forward handler validates the trigger's data against the step's `input` (extra fields are
 * fine; a missing or wrong field → dead letter) and keeps only the declared fields. Guarantees,
 * with the consumer runtime's (inbox + outbox in one transaction, at-least-once in):
 * - the external call runs outside the transaction with the step's idempotency key, so a
 *   redelivery or a crash never reserves or charges twice;
 * - one record per saga (its id is `data[map.key]`): a duplicate delivery, or the same business
 *   event under a new message id, finds the record and neither calls nor emits;
 * - a rejection (any final 4xx/5xx answer) is stored as `rejected` and emitted as the failure
 *   event with the system's reason; an unreachable system is an outage (`UnavailableError`,
 *   waited out by the consumer) until it has been unreachable for `unreachableTimeoutMs`, then
 *   whatever the unanswered calls may have done is released and the step is rejected with a
 *   reason that says it was unreachable;
 * - after a tombstone (compensated before forward) nothing is reserved or emitted; a
 *   reservation racing with the tombstone is released on the next attempt;
 * - the input is stored with the record, so a compensation releases with it.
 *
 * A compensation handler needs only the saga key; the saga's deadline event (when the map
 * declares a deadline) is one of its triggers. A succeeded step is released at the external
 * system (outside the transaction) before it is marked `compensated` and the compensation event
 * is emitted; a release that fails transiently (unreachable, 5xx) is an outage, waited out for
 * the consumer's outage budget, and a refused release (4xx) is dead-lettered at once: a step is
 * never marked compensated without a release. With no record yet, a tombstone is stored so the
 * late forward event reserves nothing (and the compensation event is emitted, except for the
 * deadline: a step that never ran undid nothing). A rejected or already compensated step
 * changes nothing.
 *
 * Every emitted event is checked against its schema in the map: an event that breaks its own
 * contract is a bug, dead-lettered instead of reaching consumers. Needs `installSagaStepTables`.
 */
export function sagaStep<const D extends StepDeclaration, A extends TSchema>(
  map: SagaMap,
  declaration: D,
  options: SagaStepOptions<NoInfer<D>, A>,
): Readonly<Record<string, HandlerDefinition>> {
  const step = mapStepOf(map, declaration);
  // The declaration's types served the caller; inside, data is what the schemas checked.
  const untyped = options as unknown as UntypedOptions;
  const store = untyped.store ?? createStepStore(step.name);
  const context: StepContext = { map, step, store, checked: contractChecker(step) };
  const { release, compensated } = untyped;
  const handlers: Record<string, HandlerDefinition> = {
    [step.trigger]: forwardHandler(context, untyped, release),
  };
  if (step.compensateOn.length === 0) return handlers;
  if (!step.compensation || !release || !compensated) {
    throw new Error(
      `step ${step.name} must be undone when ${step.compensateOn.join(' or ')} happens: it needs a compensation event, release and compensated`,
    );
  }
  const compensation = compensationHandler(context, { release, compensated });
  for (const type of step.compensateOn) handlers[type] = compensation;
  return handlers;
}

interface StepContext {
  readonly map: SagaMap;
  readonly step: MapStep;
  readonly store: StepStore;
  readonly checked: (emit: Emit) => Emit;
}

interface UntypedOptions {
  readonly answer: TSchema;
  readonly call: (input: unknown) => Promise<ExternalResult>;
  readonly succeeded: (input: unknown, answer: unknown) => unknown;
  readonly failed: (input: unknown, reason: string) => unknown;
  readonly release?: (input: unknown) => Promise<ExternalResult>;
  readonly compensated?: (undone: Undone<unknown>) => unknown;
  readonly unreachableTimeoutMs?: number;
  readonly now?: () => number;
  readonly store?: StepStore;
}

function forwardHandler(
  { map, step, store, checked }: StepContext,
  options: UntypedOptions,
  releaseCall: ((input: unknown) => Promise<ExternalResult>) | undefined,
): HandlerDefinition<TSchema, ForwardPrepared<unknown>> {
  const answer = Compile(options.answer);
  const unreachable = unreachableClock(options.now ?? Date.now);
  const inputOf = (data: unknown): unknown => Value.Clean(step.input, structuredClone(data));
  return on<TSchema, ForwardPrepared<unknown>>(
    step.input,
    async (message, { tx, emit }, prepared) => {
      if (prepared.answer === 'not_called') return;
      const sagaId = sagaIdOf(map, message.data);
      const input = inputOf(message.data);
      const record: NewStepRecord =
        prepared.answer === 'accepted'
          ? { sagaId, status: 'succeeded', input, details: prepared.body }
          : { sagaId, status: 'rejected', input, reason: prepared.reason };
      // The external system was called because `prepare` found no record, which is nearly
      // always still true: the insert is the check (one round trip instead of two), and only
      // when something was recorded since (a tombstone, another delivery) is it read and decided.
      if (!(await store.insert(tx, record))) {
        const decision = decideForwardCommit(await store.find(tx, sagaId, true), prepared.answer);
        if (decision === 'retry') {
          throw new RetryableError(
            `${step.name} step: saga ${sagaId} was compensated while the step ran; releasing on the next attempt`,
          );
        }
        if (decision === 'nothing') return;
        throw new RetryableError(
          `${step.name} step: saga ${sagaId} was recorded concurrently; deciding again`,
        );
      }
      emit(
        checked(
          prepared.answer === 'accepted'
            ? { type: step.success.type, data: options.succeeded(input, prepared.body) }
            : { type: step.failure.type, data: options.failed(input, prepared.reason) },
        ),
      );
    },
    async (message, { db, attempt }) => {
      const sagaId = sagaIdOf(map, message.data);
      const input = inputOf(message.data);
      const plan = planForward(await store.find(db, sagaId), attempt, releaseCall !== undefined);
      if (plan === 'release' && releaseCall) {
        await release(releaseCall, input, sagaId, { nothingHeldIsFine: true });
      }
      if (plan !== 'call') return { answer: 'not_called' };
      const result = await options.call(input);
      const unreachableForMs = unreachable.observe(sagaId, result.status === undefined);
      if (result.ok) {
        if (answer.Check(result.body)) return { answer: 'accepted', body: result.body };
        throw new TerminalError(
          `${step.name} step: the external system accepted saga ${sagaId} with an unexpected body: ${JSON.stringify(result.body)}`,
        );
      }
      if (credentialRefused(result)) {
        throw new UnavailableError(`${step.name} step`, `credential refused: ${result.reason}`);
      }
      if (unreachableForMs !== undefined) {
        if (unreachableForMs < (options.unreachableTimeoutMs ?? 300_000)) {
          throw new UnavailableError(`${step.name} step`, result.reason);
        }
        // A call that got no answer may still have taken effect (a reply lost, a timeout while
        // the system worked): undo it before saying the step failed, or it would stay held.
        if (releaseCall) {
          await release(releaseCall, input, sagaId, { nothingHeldIsFine: true });
        }
      }
      return { answer: 'rejected', reason: result.reason };
    },
  );
}

/** Sagas whose step kept at most this many unreachable clocks; the oldest are forgotten. */
const unreachableClockLimit = 10_000;

/**
 * Since when each saga's forward call has found its system unreachable, without a reachable
 * answer between. `observe` returns how long it has been (0 on the first failure), or
 * `undefined` when the system answered. Bounded: a saga whose message went elsewhere (another
 * instance, a dead letter) is forgotten once the limit is reached, oldest first.
 */
function unreachableClock(now: () => number) {
  const since = new Map<string, number>();
  return {
    observe(sagaId: string, isUnreachable: boolean): number | undefined {
      if (!isUnreachable) {
        since.delete(sagaId);
        return undefined;
      }
      const first = since.get(sagaId);
      if (first !== undefined) return now() - first;
      if (since.size >= unreachableClockLimit) {
        since.delete(since.keys().next().value as string);
      }
      since.set(sagaId, now());
      return 0;
    },
  };
}

function compensationHandler(
  { map, step, store, checked }: StepContext,
  options: {
    readonly release: (input: unknown) => Promise<ExternalResult>;
    readonly compensated: (undone: Undone<unknown>) => unknown;
  },
): HandlerDefinition<TSchema, boolean> {
  const type = step.compensation!.type;
  const schema = Type.Object({ [map.key]: Type.String({ minLength: 1 }) });
  return on<TSchema, boolean>(
    schema,
    async (message, { tx, emit }, released) => {
      const sagaId = sagaIdOf(map, message.data);
      const cause = message.data as SagaData;
      const record = await store.find(tx, sagaId, true);
      switch (decideCompensationCommit(record, released)) {
        case 'store_tombstone':
          if (
            !(await store.insert(tx, {
              sagaId,
              status: 'compensated',
              compensatedBeforeForward: true,
              cause,
            }))
          ) {
            throw new RetryableError(
              `${step.name} step: saga ${sagaId} was recorded concurrently; deciding again`,
            );
          }
          // The deadline passed before the step ran: it never will, and nothing was undone, so
          // nothing is said (a later step's failure, on the contrary, is answered as before).
          if (message.type === map.deadline?.expired.type) return;
          emit(checked({ type, data: options.compensated({ sagaId, input: undefined, cause }) }));
          return;
        case 'mark_compensated':
          await store.markCompensated(tx, sagaId, cause);
          emit(
            checked({ type, data: options.compensated({ sagaId, input: record?.input, cause }) }),
          );
          return;
        case 'retry':
          throw new RetryableError(
            `${step.name} step: saga ${sagaId} succeeded after the release was planned; releasing on the next attempt`,
          );
        case 'nothing':
          return;
      }
    },
    async (message, { db }) => {
      const sagaId = sagaIdOf(map, message.data);
      const record = await store.find(db, sagaId);
      if (planCompensation(record) === 'skip') return false;
      await release(options.release, record?.input, sagaId, { nothingHeldIsFine: false });
      return true;
    },
  );
}

async function release(
  call: (input: unknown) => Promise<ExternalResult>,
  input: unknown,
  sagaId: string,
  { nothingHeldIsFine }: { nothingHeldIsFine: boolean },
): Promise<void> {
  const result = await call(input);
  if (result.ok) return;
  // A compensation is never given up for an outage (a refused credential is the deployment's
  // outage): it waits for the system to come back.
  if (isExternalOutage(result)) {
    throw new UnavailableError(
      'external system',
      `release of saga ${sagaId} failed: ${result.reason}`,
    );
  }
  // An orphan release may find nothing held (the earlier attempt never reserved).
  if (nothingHeldIsFine && result.status === 404) return;
  throw new TerminalError(`release of saga ${sagaId} refused (${result.status}): ${result.reason}`);
}

/** The map's step for a declaration; refuses a map that does not hold this very step. */
function mapStepOf(map: SagaMap, declaration: StepDeclaration): MapStep {
  const step = map.step(declaration.name);
  if (!step) throw new Error(`saga ${map.name} has no step ${declaration.name}`);
  const same =
    step.input === declaration.input &&
    step.success.type === declaration.success.type &&
    step.failure.type === declaration.failure.type &&
    step.compensation?.type === declaration.compensation?.type;
  if (!same) {
    throw new Error(`saga ${map.name}'s step ${declaration.name} is not the one declared here`);
  }
  const required = (step.input as { readonly required?: readonly string[] }).required ?? [];
  if (!required.includes(map.key)) {
    throw new Error(`step ${step.name}'s input must require the saga key ${map.key}`);
  }
  return step;
}

function sagaIdOf(map: SagaMap, data: unknown): string {
  const id = (data as SagaData | null)?.[map.key];
  if (typeof id === 'string' && id !== '') return id;
  throw new TerminalError(`a step event needs the saga key ${map.key} as a string`);
}

/**
 * Producers validate what they emit: an event that breaks its own contract is a bug, so it
 * fails the handler with a `TerminalError` (dead letter) instead of reaching consumers.
 */
function contractChecker(step: MapStep): (emit: Emit) => Emit {
  const events = [step.success, step.failure, ...(step.compensation ? [step.compensation] : [])];
  const validators = new Map(events.map(({ type, schema }) => [type, Compile(schema)]));
  return (emit) => {
    const validator = validators.get(emit.type);
    if (!validator) throw new TerminalError(`${emit.type} is not an event of step ${step.name}`);
    if (!validator.Check(emit.data)) {
      const problems = [...validator.Errors(emit.data)].map(
        (error) => `data${error.instancePath} ${error.message}`,
      );
      throw new TerminalError(`emitted ${emit.type} breaks its contract: ${problems.join('; ')}`);
    }
    return emit;
  };
}

/** The options every step service takes (e.g. a step service factory's `options`). */
export interface StepServiceOptions extends ExternalSystemOptions {
  /** Redelivery policy of the service's consumer (e.g. shorter in tests). */
  readonly retry?: Partial<RetryPolicy>;
  /** How the service's consumer waits out outages (e.g. shorter in tests). */
  readonly outage?: Partial<OutagePolicy>;
  /** The forward step's deadline for an unreachable system (see `ForwardOptions`). */
  readonly unreachableTimeoutMs?: number;
}

/** What a forward step takes of its service's options: its deadline for an unreachable system. */
export type StepDeadline = Pick<ForwardOptions<StepDeclaration, TSchema>, 'unreachableTimeoutMs'>;

export function stepDeadline(options: StepServiceOptions): StepDeadline {
  return options.unreachableTimeoutMs === undefined
    ? {}
    : { unreachableTimeoutMs: options.unreachableTimeoutMs };
}

/** The consumer options a step service takes from its `StepServiceOptions`. */
export function stepConsumerOptions(
  options: StepServiceOptions,
): Pick<ConsumerOptions, 'retry' | 'outage'> {
  return {
    ...(options.retry ? { retry: options.retry } : {}),
    ...(options.outage ? { outage: options.outage } : {}),
  };
}
