import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import {
  type Broker,
  type Delivery,
  keyOf,
  type Logger,
  type Message,
  parseMessage,
  silentLogger,
  type SubscriptionHandle,
} from '@cads/messaging';
import { isDatabaseUnavailable, sql, type Database } from '@cads/storage';
import { Compile, type Validator } from 'typebox/compile';
import { type CircuitPass, createCircuitBreaker } from './circuit-breaker.ts';
import { countDeadLetters, requestRedrive, storeDeadLetter } from './dead-letters.ts';
import {
  type DeadLetterReason,
  RetryableError,
  TerminalError,
  UnavailableError,
} from './errors.ts';
import type { HandlerContext, HandlerDefinition } from './handler.ts';
import { claimInbox, pruneInbox } from './inbox.ts';
import { installConsumerTables } from './install.ts';
import { createKeyLanes } from './key-lanes.ts';
import {
  type ConsumerMetrics,
  type ConsumerStats,
  type HandlerOutcome,
  noMetrics,
} from './observability.ts';
import { createCausedMessage, type Outbox, tableOutbox } from './outbox.ts';
import { defaultRetryPolicy, type RetryPolicy, retryDelayMs } from './retry-policy.ts';
import { startRedrivePoller } from './redrive.ts';

export interface ConsumerOptions {
  /** The consumer group and inbox name, e.g. `billing`. One per service and purpose. */
  readonly name: string;
  /** CloudEvents `source` of the messages this consumer emits, e.g. `/cads/billing`. */
  readonly source: string;
  readonly db: Database;
  readonly broker: Broker;
  /** Event type → handler. Only these types are subscribed. */
  readonly handlers: Readonly<Record<string, HandlerDefinition>>;
  /**
   * Where emitted messages go, in the handler's transaction. Default: the outbox table, with
   * `relay` woken after each commit that wrote to it.
   */
  readonly outbox?: Outbox;
  /** With the default outbox: woken after each commit that wrote to the outbox table. */
  readonly relay?: { wake(): void };
  /** Transactions running at once, at most. Default 4. */
  readonly concurrency?: number;
  /** Deliveries handled in one transaction, at most (distinct keys). Default 16. */
  readonly batchSize?: number;
  /** Deliveries taken from the broker and not yet settled, at most. Default 256. */
  readonly maxInFlight?: number;
  /**
   * The lease of each delivery (`Subscription.ackTimeoutMs`). The consumer keeps every delivery
   * it holds alive (`Delivery.working`, three times per lease) until it settles it, however long
   * that takes; if the process dies, the broker hands its deliveries to another member this
   * long after. Default 2 000.
   */
  readonly ackTimeoutMs?: number;
  /** Redelivery of messages whose handler failed with an error that is not an outage. */
  readonly retry?: Partial<RetryPolicy>;
  /** How an outage of a dependency is waited out. */
  readonly outage?: Partial<OutagePolicy>;
  /** How often requested redrives are looked for. Default 1 s. */
  readonly redrivePollMs?: number;
  /** How long `stop` waits for work already received. Default 15 s. */
  readonly drainTimeoutMs?: number;
  /** Inbox rows older than this are pruned (hourly). Default 7 days. */
  readonly inboxRetentionMs?: number;
  readonly log?: Logger;
  readonly metrics?: ConsumerMetrics;
}

/**
 * An outage — `UnavailableError`, or a database that is unreachable, restarting, full or
 * read-only (`isDatabaseUnavailable`) — is not the message's fault: the consumer keeps the
 * message (its lane waits, so its key stays in order) and runs it again after a capped,
 * jittered backoff, never spending its attempts. The consumer's circuit breaker opens after
 * `failureThreshold` outage failures in a row: handlers then wait instead of failing, and one
 * batch at a time probes (after `openMs`, doubling up to `maxOpenMs`); when a probe succeeds
 * everything waiting runs at once.
 */
export interface OutagePolicy {
  /**
   * How long a message is kept while an outage lasts, from its first outage failure (or from
   * when it first waited behind the open circuit), before it is dead-lettered with the reason
   * `outage_budget_exhausted`. Counted by the process that holds the message: a crash starts it
   * again, so a message is kept at least this long. Default 1 hour.
   */
  readonly budgetMs: number;
  /** Outage failures in a row that open the circuit. Default 5. */
  readonly failureThreshold: number;
  /** First open time of the circuit, and the first backoff of a message. Default 1 000. */
  readonly openMs: number;
  /** Longest open time, and longest backoff of a message. Default 30 000. */
  readonly maxOpenMs: number;
}

export const defaultOutagePolicy: OutagePolicy = {
  budgetMs: 3_600_000,
  failureThreshold: 5,
  openMs: 1_000,
  maxOpenMs: 30_000,
};

/** Whether `error` is an outage of a dependency (waited out) rather than a fault of the message. */
export function isOutage(error: unknown): boolean {
  return error instanceof UnavailableError || isDatabaseUnavailable(error);
}

export interface Consumer {
  readonly name: string;
  /** Installs the runtime's tables if needed and subscribes. */
  start(): Promise<void>;
  /**
   * Graceful shutdown: takes no new deliveries, finishes every delivery already received
   * (within `drainTimeoutMs`), then resolves. Whatever is left unsettled is redelivered later.
   */
  stop(): Promise<void>;
  /**
   * Handles a dead-lettered message again through the normal path; the letter is deleted when
   * that commits. Returns false if there is no such letter.
   */
  redrive(messageId: string): Promise<boolean>;
  /**
   * For metrics: the group's lag (`Broker.pending` over the handled types, also while stopped),
   * dead letters and outbox backlog. Needs the tables `start()` installs.
   */
  stats(): Promise<ConsumerStats>;
}

/** A delivery in the lanes; a redrive supplies the id the letter was stored under. */
export interface Work {
  readonly delivery: Delivery;
  readonly storedId?: string;
  /** When an outage first held this delivery up, in this process (`Date.now()`). */
  outageSince?: number;
  /** When it was received or last kept alive (`Date.now()`). */
  leasedAt?: number;
}

type Item =
  | {
      readonly kind: 'valid';
      readonly work: Work;
      readonly id: string;
      readonly message: Message;
      readonly definition: HandlerDefinition;
      prepared?: unknown;
    }
  | {
      readonly kind: 'invalid';
      readonly work: Work;
      readonly id: string;
      readonly reason: DeadLetterReason;
      readonly error: Error;
    };

/**
 * The effectively-once consumer.
 *
 * Delivery: at-least-once in, effectively-once out. For each delivery, one transaction records
 * `(consumer, message id)` in the inbox, runs the handler's state change and writes what it
 * emits to the outbox; a duplicate commits nothing. The delivery is acked only after the
 * commit, so a crash at any point leads to a redelivery that the inbox absorbs.
 *
 * Ordering: deliveries with the same key (CloudEvents `subject`) are handled one at a time, in
 * the order received; different keys run concurrently, batched several per transaction. A
 * retried delivery goes back to the broker and may come back after later ones of its key.
 *
 * Failures: a malformed envelope, an unknown type or data that fails the schema → dead
 * letters at once; `TerminalError` → dead letters; an outage (see `OutagePolicy`) → kept and
 * run again behind the circuit breaker until the outage budget is spent; any other error →
 * redelivery with exponential backoff and jitter, then dead letters when attempts run out. A
 * failing message never holds up messages of other keys (an outage holds up the consumer, by
 * design: its circuit is open).
 *
 * Leases: every delivery held (queued in a lane or running) is kept alive until settled, so
 * the broker's lease can be short: a crashed process's deliveries come back within
 * `ackTimeoutMs`.
 */
export function createConsumer(options: ConsumerOptions): Consumer {
  const { name, source, db, broker } = options;
  const log = options.log ?? silentLogger;
  const metrics = options.metrics ?? noMetrics;
  const policy: RetryPolicy = { ...defaultRetryPolicy, ...options.retry };
  const outagePolicy: OutagePolicy = { ...defaultOutagePolicy, ...options.outage };
  const outageBackoff: RetryPolicy = {
    maxAttempts: Number.POSITIVE_INFINITY,
    baseDelayMs: outagePolicy.openMs,
    maxDelayMs: outagePolicy.maxOpenMs,
  };
  const leaseMs = options.ackTimeoutMs ?? 2_000;
  const newBreaker = () =>
    createCircuitBreaker({
      failureThreshold: outagePolicy.failureThreshold,
      openMs: outagePolicy.openMs,
      maxOpenMs: outagePolicy.maxOpenMs,
      onStateChange(state, openMs) {
        metrics.circuit(name, state);
        if (state === 'open') {
          log.warn({ consumer: name, openMs }, 'dependency unavailable: circuit open, waiting');
        } else if (state === 'closed') log.info({ consumer: name }, 'circuit closed: resuming');
      },
    });
  let breaker = newBreaker();
  /** Deliveries received and not settled yet: kept alive until they are. */
  const held = new Set<Work>();
  const take = (work: Work) => {
    work.leasedAt = Date.now();
    held.add(work);
    lanes.push(work);
  };
  /** A third of a lease after its last renewal, a held delivery is kept alive again. */
  const keepAlive = () => {
    const due = Date.now() - leaseMs / 3;
    for (const work of held) {
      if ((work.leasedAt ?? 0) > due) continue;
      work.leasedAt = Date.now();
      void work.delivery.working();
    }
  };
  const outbox = options.outbox ?? tableOutbox(options.relay);
  const validators = new Map<string, Validator>(
    Object.entries(options.handlers).map(([type, definition]) => [
      type,
      Compile(definition.schema),
    ]),
  );

  const classify = (work: Work): Item => {
    const body = work.delivery.body;
    let message: Message;
    try {
      message = parseMessage(body);
    } catch (error) {
      return invalid(work, idOf(work), 'invalid_envelope', error as Error);
    }
    const id = work.storedId ?? message.id;
    const definition = options.handlers[message.type];
    const validator = validators.get(message.type);
    if (!definition || !validator) {
      return invalid(
        work,
        id,
        'unknown_type',
        new TerminalError(`no handler for type ${message.type}`),
      );
    }
    if (!validator.Check(message.data)) {
      const problems = [...validator.Errors(message.data)].map(
        (error) => `data${error.instancePath} ${error.message}`,
      );
      return invalid(
        work,
        id,
        'invalid_payload',
        new TerminalError(`invalid ${message.type}: ${problems.join('; ')}`),
      );
    }
    return { kind: 'valid', work, id, message, definition };
  };

  const report = (item: Item, outcome: HandlerOutcome, startedAt: number) => {
    const type = item.kind === 'valid' ? item.message.type : 'invalid';
    metrics.delivery(name, type, outcome, (performance.now() - startedAt) / 1000);
  };

  /** One transaction for all items; throws if any handler throws (nothing is committed). */
  /** Settles a delivery and lets go of it: the lane moves on, the keep-alives stop. */
  const settle = async (
    item: Item,
    done: (work: Work) => void,
    action: () => Promise<void>,
  ): Promise<void> => {
    try {
      await action();
    } catch (error) {
      // The commit stands; the broker will redeliver and the inbox will absorb it.
      log.warn({ consumer: name, messageId: item.id, err: error }, 'could not settle a delivery');
    } finally {
      held.delete(item.work);
      done(item.work);
    }
  };

  /** One transaction for all items; throws if any handler throws (nothing is committed). */
  const commit = async (
    items: Item[],
    startedAt: number,
    done: (work: Work) => void,
  ): Promise<void> => {
    const outgoing: Message[] = [];
    const outcomes = new Map<Item, HandlerOutcome>();
    await db.transaction(async (tx) => {
      outgoing.length = 0;
      outcomes.clear();
      const valid = items.filter((item) => item.kind === 'valid');
      const fresh = await claimInbox(
        tx,
        name,
        valid.map((item) => item.id),
      );
      for (const item of items) {
        if (item.kind === 'invalid') {
          await storeDeadLetter(tx, deadLetterOf(item, item.reason, item.error));
          outcomes.set(item, 'dead_lettered');
        } else if (fresh.delete(item.id)) {
          const context: HandlerContext = {
            tx,
            log,
            attempt: item.work.delivery.attempt,
            emit: (emit) => {
              const message = createCausedMessage(source, item.message, emit);
              outgoing.push(message);
              return message;
            },
          };
          await item.definition.handle(item.message, context, item.prepared);
          outcomes.set(item, 'handled');
        } else {
          outcomes.set(item, 'duplicate');
        }
      }
      await outbox.enqueue(tx, outgoing);
    });
    if (outgoing.length > 0) outbox.committed();
    await Promise.all(
      items.map(async (item) => {
        const outcome = outcomes.get(item) ?? 'handled';
        if (outcome === 'dead_lettered') {
          log.error(
            {
              consumer: name,
              messageId: item.id,
              reason: item.kind === 'invalid' ? item.reason : undefined,
              err: item.kind === 'invalid' ? item.error : undefined,
            },
            'message dead-lettered',
          );
        }
        report(item, outcome, startedAt);
        await settle(item, done, () =>
          outcome === 'dead_lettered' ? item.work.delivery.reject() : item.work.delivery.ack(),
        );
      }),
    );
  };

  /** Stores a dead letter and rejects the delivery; if the store fails, retries it later. */
  const deadLetter = async (
    item: Item,
    reason: DeadLetterReason,
    error: unknown,
    startedAt: number,
    done: (work: Work) => void,
  ): Promise<void> => {
    const { delivery } = item.work;
    try {
      await storeDeadLetter(db, deadLetterOf(item, reason, error));
    } catch (storeError) {
      log.error(
        { consumer: name, messageId: item.id, err: storeError },
        'could not store a dead letter; retrying later',
      );
      await settle(item, done, () => delivery.retry(policy.maxDelayMs));
      return;
    }
    log.error(
      { consumer: name, messageId: item.id, reason, attempts: delivery.attempt, err: error },
      'message dead-lettered',
    );
    report(item, 'dead_lettered', startedAt);
    await settle(item, done, () => delivery.reject());
  };

  /** A failure that is not an outage: redelivered with backoff, dead-lettered when out of attempts. */
  const fail = async (
    item: Item,
    error: unknown,
    startedAt: number,
    done: (work: Work) => void,
  ): Promise<void> => {
    const { delivery } = item.work;
    const terminal = error instanceof TerminalError;
    if (!terminal && delivery.attempt < policy.maxAttempts) {
      const minimum = error instanceof RetryableError ? (error.retryAfterMs ?? 0) : 0;
      const delayMs = retryDelayMs(policy, delivery.attempt, minimum);
      log.warn(
        { consumer: name, messageId: item.id, attempt: delivery.attempt, delayMs, err: error },
        'handler failed; retrying',
      );
      report(item, 'retried', startedAt);
      await settle(item, done, () => delivery.retry(delayMs));
      return;
    }
    await deadLetter(
      item,
      terminal ? 'terminal_error' : 'attempts_exhausted',
      error,
      startedAt,
      done,
    );
  };

  /**
   * Runs the works once: prepare, then one transaction (or one each, to find a failing one).
   * Every work that ends — committed, retried later or dead-lettered — is settled and `done`;
   * those that met an outage are returned, unsettled, with their errors.
   */
  const attempt = async (
    works: Work[],
    done: (work: Work) => void,
  ): Promise<{ outages: Map<Item, unknown>; committed: number }> => {
    const startedAt = performance.now();
    const items = works.map(classify);
    const failed = new Map<Item, unknown>();
    let committed = 0;
    await Promise.all(
      items.map(async (item) => {
        if (item.kind !== 'valid' || !item.definition.prepare) return;
        try {
          item.prepared = await item.definition.prepare(item.message, {
            db,
            log,
            attempt: item.work.delivery.attempt,
          });
        } catch (error) {
          failed.set(item, error);
        }
      }),
    );
    const ready = items.filter((item) => !failed.has(item));
    if (ready.length > 0) {
      try {
        await commit(ready, startedAt, done);
        committed += ready.length;
      } catch (error) {
        if (ready.length === 1) failed.set(ready[0] as Item, error);
        else {
          // One handler failed the shared transaction: redo each alone to find it.
          for (const item of ready) {
            try {
              await commit([item], startedAt, done);
              committed += 1;
            } catch (singleError) {
              failed.set(item, singleError);
            }
          }
        }
      }
    }
    const outages = new Map<Item, unknown>();
    for (const [item, error] of failed) {
      if (isOutage(error)) outages.set(item, error);
      else await fail(item, error, startedAt, done);
    }
    return { outages, committed };
  };

  /**
   * A batch from the lanes: runs behind the circuit breaker; what meets an outage stays in its
   * lane (unsettled, kept alive) and runs again after a backoff, until it passes or its outage
   * budget is spent.
   */
  const runBatch = async (batch: Work[], done: (work: Work) => void): Promise<void> => {
    let pending = batch;
    for (let round = 1; pending.length > 0; round++) {
      const blockedAt = breaker.state === 'closed' ? undefined : Date.now();
      const pass: CircuitPass = await breaker.pass();
      // Stopping: what an outage holds up is not drained but left unsettled, for the broker to
      // hand out again; everything else received is still handled.
      if (stopping && (round > 1 || blockedAt !== undefined)) {
        pass.inconclusive();
        return;
      }
      if (blockedAt !== undefined) {
        for (const work of pending) work.outageSince ??= blockedAt;
      }
      // A probe is one message: enough to tell whether the dependency is back.
      const trying = pass.probe ? pending.slice(0, 1) : pending;
      const waiting = pass.probe ? pending.slice(1) : [];
      let result: Awaited<ReturnType<typeof attempt>>;
      try {
        result = await attempt(trying, done);
      } catch (error) {
        pass.inconclusive();
        throw error;
      }
      const { outages, committed } = result;
      if (outages.size > 0) pass.failed();
      else if (committed > 0) pass.succeeded();
      else pass.inconclusive();
      if ((outages.size === 0 && waiting.length === 0) || stopping) return;

      const now = Date.now();
      pending = waiting;
      for (const [item, error] of outages) {
        const since = (item.work.outageSince ??= now);
        if (now - since >= outagePolicy.budgetMs) {
          await deadLetter(item, 'outage_budget_exhausted', error, performance.now(), done);
          continue;
        }
        report(item, 'retried', performance.now());
        pending.push(item.work);
      }
      const [first] = outages.values();
      if (first !== undefined) {
        log.warn(
          { consumer: name, messages: outages.size, round, err: first },
          'dependency unavailable; keeping the messages',
        );
      }
      if (outages.size > 0) await breaker.backOff(retryDelayMs(outageBackoff, round));
    }
  };

  let stopping = false;
  const lanes = createKeyLanes<Work>({
    keyOf: (work) => keyOf(work.delivery.body),
    maxBatches: options.concurrency ?? 4,
    maxBatchSize: options.batchSize ?? 16,
    run: (batch, done) =>
      runBatch(batch, done).catch((error: unknown) => {
        // Not kept alive any more: the broker hands them out again once their leases lapse.
        for (const work of batch) held.delete(work);
        log.error(
          { consumer: name, err: error },
          'unexpected consumer failure; deliveries will be redelivered',
        );
      }),
  });

  let subscription: SubscriptionHandle | undefined;
  let stopRedrive: (() => Promise<void>) | undefined;
  let pruneTimer: NodeJS.Timeout | undefined;
  let pokeRedrive: () => void = () => undefined;
  let keepAliveTimer: NodeJS.Timeout | undefined;

  return {
    name,
    async start() {
      if (subscription) return;
      stopping = false;
      breaker = newBreaker();
      await installConsumerTables(db);
      const redrive = startRedrivePoller({
        db,
        consumer: name,
        intervalMs: options.redrivePollMs ?? 1_000,
        push: take,
        log,
      });
      stopRedrive = () => redrive.stop();
      pokeRedrive = () => redrive.poke();
      subscription = await broker.subscribe(
        {
          group: name,
          types: Object.keys(options.handlers),
          mode: 'competing',
          maxInFlight: options.maxInFlight ?? 256,
          ackTimeoutMs: leaseMs,
        },
        (delivery) => take({ delivery }),
      );
      keepAliveTimer = setInterval(keepAlive, leaseMs / 6);
      keepAliveTimer.unref();
      const retentionMs = options.inboxRetentionMs ?? 7 * 24 * 3_600_000;
      pruneTimer = setInterval(() => {
        pruneInbox(db, retentionMs).catch((error: unknown) =>
          log.warn({ err: error }, 'inbox pruning failed'),
        );
      }, 3_600_000);
      pruneTimer.unref();
    },
    async stop() {
      const current = subscription;
      subscription = undefined;
      if (pruneTimer) clearInterval(pruneTimer);
      await current?.stop();
      await stopRedrive?.();
      // What waits for a dependency is not drained: it is left to be redelivered.
      stopping = true;
      breaker.dispose();
      const drainTimeoutMs = options.drainTimeoutMs ?? 15_000;
      let timer: NodeJS.Timeout | undefined;
      const drained = await Promise.race([
        lanes.idle().then(() => true),
        new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), drainTimeoutMs))),
      ]);
      clearTimeout(timer);
      // Whatever is still held lapses now, and goes to another member (or the next start).
      clearInterval(keepAliveTimer);
      held.clear();
      if (!drained)
        log.warn(
          { consumer: name, pending: lanes.size },
          'stopped before draining; the rest will be redelivered',
        );
    },
    async redrive(messageId) {
      const requested = await requestRedrive(db, name, messageId);
      if (requested) pokeRedrive();
      return requested;
    },
    async stats() {
      const [lag, deadLetters, outbox] = await Promise.all([
        broker.pending(name, Object.keys(options.handlers)),
        countDeadLetters(db, name),
        db.query<{ pending: number; age: number | null }>(
          sql`select count(*)::int as pending, extract(epoch from now() - min(created_at))::float8 as age from cads_outbox`,
        ),
      ]);
      return {
        consumer: name,
        lag,
        deadLetters,
        outboxPending: outbox.rows[0]?.pending ?? 0,
        outboxOldestAgeSeconds: outbox.rows[0]?.age ?? 0,
      };
    },
  };

  function deadLetterOf(item: Item, reason: DeadLetterReason, error: unknown) {
    const body = item.work.delivery.body;
    const message = item.kind === 'valid' ? item.message : undefined;
    return {
      consumer: name,
      messageId: item.id,
      type: message?.type ?? stringField(body, 'type'),
      subject: message?.subject ?? stringField(body, 'subject'),
      body,
      reason,
      error,
      attempts: item.work.delivery.attempt,
    };
  }
}

function invalid(work: Work, id: string, reason: DeadLetterReason, error: Error): Item {
  return { kind: 'invalid', work, id, reason, error };
}

/** The message id, or for a body without one a digest of it, so redeliveries share an id. */
function idOf(work: Work): string {
  if (work.storedId) return work.storedId;
  const id = stringField(work.delivery.body, 'id');
  if (id) return id;
  return `sha256:${createHash('sha256')
    .update(JSON.stringify(work.delivery.body) ?? 'undefined')
    .digest('hex')}`;
}

function stringField(body: unknown, field: string): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const value = (body as Record<string, unknown>)[field];
  return typeof value === 'string' ? value : undefined;
}
