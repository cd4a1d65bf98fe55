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
import { sql, type Database } from '@cads/storage';
import { Compile, type Validator } from 'typebox/compile';
import { countDeadLetters, requestRedrive, storeDeadLetter } from './dead-letters.ts';
import { type DeadLetterReason, RetryableError, TerminalError } from './errors.ts';
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
  /** The consumer group and inbox name, e.g. `restaurant`. One per service and purpose. */
  readonly name: string;
  /** CloudEvents `source` of the messages this consumer emits, e.g. `/cads/restaurant`. */
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
  /** The broker redelivers a delivery not settled within this. Default 30 s. */
  readonly ackTimeoutMs?: number;
  readonly retry?: Partial<RetryPolicy>;
  /** How often requested redrives are looked for. Default 1 s. */
  readonly redrivePollMs?: number;
  /** How long `stop` waits for work already received. Default 15 s. */
  readonly drainTimeoutMs?: number;
  /** Inbox rows older than this are pruned (hourly). Default 7 days. */
  readonly inboxRetentionMs?: number;
  readonly log?: Logger;
  readonly metrics?: ConsumerMetrics;
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
 * letters at once; `TerminalError` → dead letters; any other error → redelivery with
 * exponential backoff and jitter, then dead letters when attempts run out. A failing message
 * never holds up messages of other keys.
 */
export function createConsumer(options: ConsumerOptions): Consumer {
  const { name, source, db, broker } = options;
  const log = options.log ?? silentLogger;
  const metrics = options.metrics ?? noMetrics;
  const policy: RetryPolicy = { ...defaultRetryPolicy, ...options.retry };
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
  const commit = async (items: Item[], startedAt: number): Promise<void> => {
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
        await settle(item, () =>
          outcome === 'dead_lettered' ? item.work.delivery.reject() : item.work.delivery.ack(),
        );
      }),
    );
  };

  const settle = async (item: Item, action: () => Promise<void>) => {
    try {
      await action();
    } catch (error) {
      // The commit stands; the broker will redeliver and the inbox will absorb it.
      log.warn({ consumer: name, messageId: item.id, err: error }, 'could not settle a delivery');
    }
  };

  const fail = async (item: Item, error: unknown, startedAt: number): Promise<void> => {
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
      await settle(item, () => delivery.retry(delayMs));
      return;
    }
    const reason: DeadLetterReason = terminal ? 'terminal_error' : 'attempts_exhausted';
    try {
      await storeDeadLetter(db, deadLetterOf(item, reason, error));
    } catch (storeError) {
      log.error(
        { consumer: name, messageId: item.id, err: storeError },
        'could not store a dead letter; retrying later',
      );
      await settle(item, () => delivery.retry(policy.maxDelayMs));
      return;
    }
    log.error(
      { consumer: name, messageId: item.id, reason, attempts: delivery.attempt, err: error },
      'message dead-lettered',
    );
    report(item, 'dead_lettered', startedAt);
    await settle(item, () => delivery.reject());
  };

  const runBatch = async (batch: Work[]): Promise<void> => {
    const startedAt = performance.now();
    const items = batch.map(classify);
    const failed = new Map<Item, unknown>();
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
        await commit(ready, startedAt);
      } catch (error) {
        if (ready.length === 1) failed.set(ready[0] as Item, error);
        else {
          // One handler failed the shared transaction: redo each alone to find it.
          for (const item of ready) {
            await commit([item], startedAt).catch((singleError: unknown) =>
              fail(item, singleError, startedAt),
            );
          }
        }
      }
    }
    for (const [item, error] of failed) await fail(item, error, startedAt);
  };

  const lanes = createKeyLanes<Work>({
    keyOf: (work) => keyOf(work.delivery.body),
    maxBatches: options.concurrency ?? 4,
    maxBatchSize: options.batchSize ?? 16,
    run: (batch) =>
      runBatch(batch).catch((error: unknown) => {
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

  return {
    name,
    async start() {
      if (subscription) return;
      await installConsumerTables(db);
      const redrive = startRedrivePoller({
        db,
        consumer: name,
        intervalMs: options.redrivePollMs ?? 1_000,
        push: (work) => lanes.push(work),
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
          ackTimeoutMs: options.ackTimeoutMs ?? 30_000,
        },
        (delivery) => lanes.push({ delivery }),
      );
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
      const drainTimeoutMs = options.drainTimeoutMs ?? 15_000;
      let timer: NodeJS.Timeout | undefined;
      const drained = await Promise.race([
        lanes.idle().then(() => true),
        new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), drainTimeoutMs))),
      ]);
      clearTimeout(timer);
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
