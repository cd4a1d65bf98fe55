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
import { callExternal, type ExternalResult } from '@cads/http';
import type { Queryable } from '@cads/storage';
import type { Static, TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import {
  decideCompensationCommit,
  decideForwardCommit,
  planCompensation,
  planForward,
} from './step-decisions.ts';
import type { NewStepRecord, StepStore } from './step-store.ts';

/** The order an event is about; every event a step consumes carries both. */
export interface OrderRef {
  readonly orderId: string;
  readonly userId: string;
}

/** Undoes the step at the external system (DELETE with the step's release idempotency key). */
export type ReleaseCall = (ref: OrderRef) => Promise<ExternalResult>;

export interface ForwardStepOptions<S extends TSchema, A extends TSchema> {
  /** Data schema of the consumed event (e.g. `OrderCreated`). */
  readonly schema: S;
  readonly store: StepStore;
  /** The external system's success body. Another body is a contract breach → dead letter. */
  readonly answer: A;
  /** The forward call. Must carry the step's idempotency key: it may run more than once. */
  call(data: Static<S>): Promise<ExternalResult>;
  /**
   * When the step can be compensated: undoes a reservation made just as a tombstone was
   * written (see `decideForwardCommit`).
   */
  readonly release?: ReleaseCall;
  /** The forward event, e.g. `restaurant_reserved`. */
  accepted(data: Static<S>, answer: Static<A>): Emit;
  /** The rejection event, e.g. `restaurant_cancelled`, with the system's reason. */
  rejected(data: Static<S>, reason: string): Emit;
  /** The service's event contract (type → data schema): every emitted event is checked. */
  readonly events: EventContract;
  /**
   * The step's business deadline for an unreachable system (no answer after the call's own
   * retries), counted from the consumed event's time: until then it is an outage, waited out
   * (the consumer keeps the message behind its circuit breaker); after it, the step is rejected
   * with a reason that says the system was unreachable, so the saga ends and compensates
   * instead of waiting forever. A time, not a number of attempts: an outage makes no attempts
   * while the circuit is open. Default 5 minutes.
   */
  readonly unreachableTimeoutMs?: number;
  /** For tests: the clock the deadline is read on. Default `Date.now`. */
  readonly now?: () => number;
}

/** Event type → data schema, as exported by a service's `contracts/`. */
export type EventContract = Readonly<Record<string, TSchema>>;

/** What `prepare` learnt from the external system, for `handle`. */
export type ForwardPrepared<A> =
  | { readonly answer: 'accepted'; readonly body: A }
  | { readonly answer: 'rejected'; readonly reason: string }
  | { readonly answer: 'not_called' };

/**
 * The handler of a step's forward event (e.g. `order_created` at the restaurant).
 *
 * Guarantees, with the consumer runtime's (inbox + outbox in one transaction, at-least-once in):
 * - the external call runs outside the transaction with the step's idempotency key, so a
 *   redelivery or a crash never reserves or charges twice;
 * - one record per order: a duplicate delivery, or the same business event under a new
 *   message id, finds the record and neither calls nor emits;
 * - a rejection (any final 4xx/5xx answer) is stored as status 4 and emitted as the rejection
 *   event with the system's reason; an unreachable system is an outage (`UnavailableError`,
 *   waited out by the consumer) until `unreachableTimeoutMs` after the event, then the step is
 *   rejected with a reason that says it was unreachable;
 * - after a tombstone (compensated before forward) nothing is reserved or emitted; a
 *   reservation racing with the tombstone is released on the next attempt.
 */
export function forwardStep<S extends TSchema, A extends TSchema>(
  options: ForwardStepOptions<S, A>,
): HandlerDefinition<S, ForwardPrepared<Static<A>>> {
  const { store } = options;
  const answer = Compile(options.answer);
  const checked = contractChecker(options.events);
  return on<S, ForwardPrepared<Static<A>>>(
    options.schema,
    async (message, { tx, emit }, prepared) => {
      if (prepared.answer === 'not_called') return;
      const ref = orderRefOf(message.data);
      const record: NewStepRecord =
        prepared.answer === 'accepted'
          ? { ...ref, status: 0, details: prepared.body }
          : { ...ref, status: 4, reason: prepared.reason };
      // The external system was called because `prepare` found no record, which is nearly
      // always still true: the insert is the check (one round trip instead of two), and only
      // when something was recorded since (a tombstone, another delivery) is it read and decided.
      if (!(await store.insert(tx, record))) {
        const decision = decideForwardCommit(
          await store.find(tx, ref.orderId, true),
          prepared.answer,
        );
        if (decision === 'retry') {
          throw new RetryableError(
            `${store.table}: order ${ref.orderId} was compensated while the step ran; releasing on the next attempt`,
          );
        }
        if (decision === 'nothing') return;
        throw new RetryableError(
          `${store.table}: order ${ref.orderId} was recorded concurrently; deciding again`,
        );
      }
      emit(
        checked(
          prepared.answer === 'accepted'
            ? options.accepted(message.data, prepared.body)
            : options.rejected(message.data, prepared.reason),
        ),
      );
    },
    async (message, { db, attempt }) => {
      const ref = orderRefOf(message.data);
      const plan = planForward(
        await store.find(db, ref.orderId),
        attempt,
        options.release !== undefined,
      );
      if (plan === 'release' && options.release) {
        await release(options.release, ref, { nothingHeldIsFine: true });
      }
      if (plan !== 'call') return { answer: 'not_called' };
      const result = await options.call(message.data);
      if (result.ok) {
        if (answer.Check(result.body)) return { answer: 'accepted', body: result.body };
        throw new TerminalError(
          `${store.table}: the external system accepted order ${ref.orderId} with an unexpected body: ${JSON.stringify(result.body)}`,
        );
      }
      if (result.status === undefined) {
        const waitedMs = (options.now ?? Date.now)() - Date.parse(message.time);
        if (!(waitedMs >= (options.unreachableTimeoutMs ?? 300_000))) {
          throw new UnavailableError(store.table, result.reason);
        }
      }
      return { answer: 'rejected', reason: result.reason };
    },
  );
}

export interface CompensationStepOptions<S extends TSchema> {
  /** Data schema of the consumed failure event (e.g. `RiderCancelled`). */
  readonly schema: S;
  readonly store: StepStore;
  readonly release: ReleaseCall;
  /** The compensation event, e.g. `restaurant_compensated`. */
  compensated(ref: OrderRef): Emit;
  /** The service's event contract (type → data schema): every emitted event is checked. */
  readonly events: EventContract;
}

/**
 * The handler of a compensation input (e.g. `rider_cancelled` at the restaurant).
 *
 * Guarantees: a succeeded step is released at the external system (idempotency key, outside
 * the transaction) before it is marked compensated (5) and `compensated` is emitted; a release
 * that fails transiently (unreachable, 5xx) is an outage, waited out for the consumer's outage
 * budget, and a refused release (4xx) is dead-lettered at once: it is never marked
 * compensated without a release. With no record yet, a tombstone is stored so the late forward
 * event reserves nothing. A rejected or already compensated step changes nothing.
 */
export function compensationStep<S extends TSchema>(
  options: CompensationStepOptions<S>,
): HandlerDefinition<S, boolean> {
  const { store } = options;
  const checked = contractChecker(options.events);
  return on<S, boolean>(
    options.schema,
    async (message, { tx, emit }, released) => {
      const ref = orderRefOf(message.data);
      const record = await store.find(tx, ref.orderId, true);
      switch (decideCompensationCommit(record, released)) {
        case 'store_tombstone':
          await insertOrRetry(tx, store, { ...ref, status: 5, compensatedBeforeForward: true });
          emit(checked(options.compensated(ref)));
          return;
        case 'mark_compensated':
          await store.markCompensated(tx, ref.orderId);
          emit(checked(options.compensated(ref)));
          return;
        case 'retry':
          throw new RetryableError(
            `${store.table}: order ${ref.orderId} succeeded after the release was planned; releasing on the next attempt`,
          );
        case 'nothing':
          return;
      }
    },
    async (message, { db }) => {
      const ref = orderRefOf(message.data);
      if (planCompensation(await store.find(db, ref.orderId)) === 'skip') return false;
      await release(options.release, ref, { nothingHeldIsFine: false });
      return true;
    },
  );
}

async function release(
  call: ReleaseCall,
  ref: OrderRef,
  { nothingHeldIsFine }: { nothingHeldIsFine: boolean },
): Promise<void> {
  const result = await call(ref);
  if (result.ok) return;
  // A compensation is never given up for an outage: it waits for the system to come back.
  if (result.status === undefined || result.status >= 500) {
    throw new UnavailableError(
      'external system',
      `release of order ${ref.orderId} failed: ${result.reason}`,
    );
  }
  // An orphan release may find nothing held (the earlier attempt never reserved).
  if (nothingHeldIsFine && result.status === 404) return;
  throw new TerminalError(
    `release of order ${ref.orderId} refused (${result.status}): ${result.reason}`,
  );
}

/** A concurrent writer (another instance) got there first: retry and decide again. */
async function insertOrRetry(tx: Queryable, store: StepStore, record: NewStepRecord) {
  if (!(await store.insert(tx, record))) {
    throw new RetryableError(
      `${store.table}: order ${record.orderId} was recorded concurrently; deciding again`,
    );
  }
}

/**
 * Producers validate what they emit: an event that breaks its own contract is a bug, so it
 * fails the handler with a `TerminalError` (dead letter) instead of reaching consumers.
 */
function contractChecker(events: EventContract): (emit: Emit) => Emit {
  const validators = new Map(
    Object.entries(events).map(([type, schema]) => [type, Compile(schema)]),
  );
  return (emit) => {
    const validator = validators.get(emit.type);
    if (!validator) throw new TerminalError(`${emit.type} is not in the service's contract`);
    if (!validator.Check(emit.data)) {
      const problems = [...validator.Errors(emit.data)].map(
        (error) => `data${error.instancePath} ${error.message}`,
      );
      throw new TerminalError(`emitted ${emit.type} breaks its contract: ${problems.join('; ')}`);
    }
    return emit;
  };
}

function orderRefOf(data: unknown): OrderRef {
  if (typeof data === 'object' && data !== null) {
    const { orderId, userId } = data as Partial<Record<keyof OrderRef, unknown>>;
    if (typeof orderId === 'string' && typeof userId === 'string') return { orderId, userId };
  }
  throw new TerminalError('a step event needs string orderId and userId');
}

/** How a step service reaches its external system. */
export interface ExternalSystemOptions {
  /** Base URL of the external systems, e.g. `http://127.0.0.1:4010`. */
  readonly externalsUrl: string;
  /** Limit of one HTTP attempt. Default 5 000. */
  readonly timeoutMs?: number;
  /** HTTP attempts per call before the answer counts as final. Default 3. */
  readonly attempts?: number;
  /** Delay before the second HTTP attempt, doubling after. Default 100. */
  readonly baseDelayMs?: number;
}

/** The options every step service takes (e.g. `restaurantService(options)`). */
export interface StepServiceOptions extends ExternalSystemOptions {
  /** Redelivery policy of the service's consumer (e.g. shorter in tests). */
  readonly retry?: Partial<RetryPolicy>;
  /** How the service's consumer waits out outages (e.g. shorter in tests). */
  readonly outage?: Partial<OutagePolicy>;
  /** The forward step's deadline for an unreachable system (see `ForwardStepOptions`). */
  readonly unreachableTimeoutMs?: number;
}

/** What a forward step takes of its service's options: its deadline for an unreachable system. */
export type StepDeadline = Pick<ForwardStepOptions<TSchema, TSchema>, 'unreachableTimeoutMs'>;

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

/** One endpoint of an external system: `(method, idempotencyKey, body) → result`. */
export type ExternalEndpoint = (
  method: 'POST' | 'DELETE',
  idempotencyKey: string,
  body: unknown,
) => Promise<ExternalResult>;

/**
 * Binds `callExternal` to one endpoint (e.g. `/api/restaurant`), naming the system in
 * failure reasons. See `callExternal` for retries and timeouts.
 */
export function externalEndpoint(
  options: ExternalSystemOptions,
  path: string,
  system: string,
): ExternalEndpoint {
  const url = new URL(path, options.externalsUrl).href;
  return (method, idempotencyKey, body) =>
    callExternal({
      method,
      url,
      idempotencyKey,
      body,
      system,
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      ...(options.attempts === undefined ? {} : { attempts: options.attempts }),
      ...(options.baseDelayMs === undefined ? {} : { baseDelayMs: options.baseDelayMs }),
    });
}
