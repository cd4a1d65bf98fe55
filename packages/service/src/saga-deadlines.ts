import { childTraceparent, type Outbox } from '@cads/consumer';
import { createMessage, type Message } from '@cads/messaging';
import type { MapDeadline, SagaMap } from '@cads/saga';
import {
  type Database,
  isDatabaseUnavailable,
  loadMigrations,
  migrate,
  type Queryable,
  sql,
  type Transaction,
} from '@cads/storage';
import type { Logger } from 'pino';
import { Compile } from 'typebox/compile';

const migrationsDirectory = new URL('../migrations/saga-deadlines/', import.meta.url);

/**
 * Creates or upgrades the deadline runtime's table (`cads_saga_deadlines`). Idempotent; the
 * tracker's service lists it in its definition's `runtimeTables`.
 */
export async function installSagaDeadlineTables(db: Database): Promise<void> {
  await migrate(db, 'cads.saga-deadline', await loadMigrations(migrationsDirectory));
}

/**
 * How many deadlines of the tracker's database are due at `at`, of any saga; `undefined` when
 * the deadline table is not installed there (the service tracks no saga). For tests and tools
 * that wait for due deadlines to fire.
 */
export async function countDueDeadlines(db: Queryable, at: Date): Promise<number | undefined> {
  const installed = await db.query<{ present: boolean }>(
    sql`select to_regclass('cads_saga_deadlines') is not null as present`,
  );
  if (!installed.rows[0]?.present) return undefined;
  const { rows } = await db.query<{ due: number }>(
    sql`select count(*)::int as due from cads_saga_deadlines
        where due_at <= ${at.toISOString()}::timestamptz`,
  );
  return rows[0]?.due ?? 0;
}

/** The reason a saga's deadline event gives. */
export const timedOutReason = 'timed out';

export interface SagaDeadlineOptions {
  /** CloudEvents source of the deadline events (the tracker's service, e.g. `/cads/shop`). */
  readonly source: string;
  /** How long a saga has from its start. Default: the map's `deadline.afterMs`. */
  readonly afterMs?: number;
  /** The clock deadlines are armed and found due on. Default: `Date.now`. */
  readonly now?: () => number;
  /** How often due deadlines are looked for. Default: 1 s. */
  readonly pollMs?: number;
}

/** A saga whose deadline is armed as it starts. */
export interface StartedSaga {
  readonly sagaId: string;
  /** The start event's time: the deadline counts from it. */
  readonly startedAt: Date;
  /**
   * Fields the deadline event carries besides the key and the reason (what its schema
   * requires, e.g. the user the saga belongs to).
   */
  readonly carried?: Readonly<Record<string, unknown>>;
  /** The start event's correlation id and trace context, which the deadline event continues. */
  readonly correlationid?: string;
  readonly traceparent?: string;
}

/**
 * What the tracker does when a saga's deadline passes, inside the firing transaction: record
 * the deadline event as the saga's (so its state is failed, timed out) and return it, to be
 * emitted; it may add to its data what the schema allows (e.g. the step the saga waited on, in
 * the deadline's `waitingOnField`). `undefined` (the saga had ended) emits nothing.
 */
export type ExpireSaga = (tx: Transaction, event: Message) => Promise<Message | undefined>;

/** Where the firing runs: the tracker's database, outbox and log. */
export interface DeadlineContext {
  readonly db: Database;
  readonly outbox: Outbox;
  readonly log: Logger;
}

export interface SagaDeadlines {
  /** The time a saga has, from its start. */
  readonly afterMs: number;
  /** Arms the saga's deadline, in the transaction that starts the saga. Twice: no effect. */
  arm(tx: Queryable, saga: StartedSaga): Promise<void>;
  /** Disarms it, in the transaction that records the saga's end. Not armed: no effect. */
  disarm(tx: Queryable, sagaId: string): Promise<void>;
  /**
   * Fires up to `limit` deadlines due on the clock, one transaction each; resolves to how many
   * emitted their event. For tests and for `start`'s loop.
   */
  fireDue(context: DeadlineContext, expire: ExpireSaga, limit?: number): Promise<number>;
  /** Fires due deadlines every `pollMs` until the returned function is called (and awaited). */
  start(context: DeadlineContext, expire: ExpireSaga): () => Promise<void>;
}

interface DeadlineRow {
  saga_id: string;
  message: {
    data: Record<string, unknown>;
    correlationid?: string;
    traceparent?: string;
  };
  attempts: number;
}

const batchSize = 50;
/** A firing that failed (not for an outage) is tried again this much later, doubling, capped. */
const failedFiringBackoffMs = (attempts: number) => Math.min(3_600_000, 1_000 * 2 ** attempts);

/**
 * Durable saga deadlines for a saga's tracker (the start event's producer): a deadline is a row
 * in the tracker's own database, armed with the saga's start and disarmed with its end, and it
 * fires through the outbox.
 *
 * Guarantees:
 * - A deadline survives restarts: it is data, not a timer in memory; whichever process of the
 *   service runs next fires it once it is due (late by at most `pollMs` plus the backlog).
 * - It fires at most once, and only for a saga the tracker still sees open: the row is locked
 *   (`skip locked`, so instances share the work), deleted, the tracker records the deadline
 *   event and the event is enqueued (checked against its schema), all in one transaction; a
 *   saga that ended in the meantime emits nothing.
 * - Arming checks the deadline event against its schema in the map, so a tracker that carries
 *   too little fails where it starts the saga, not minutes later.
 * - A database outage is waited out (the next poll tries again); any other failure to fire is
 *   logged and tried again later (1 s, doubling, capped at 1 h) without blocking the others.
 */
export function sagaDeadlines(map: SagaMap, options: SagaDeadlineOptions): SagaDeadlines {
  const deadline: MapDeadline | undefined = map.deadline;
  if (!deadline) throw new Error(`saga ${map.name} declares no deadline`);
  const afterMs = options.afterMs ?? deadline.afterMs;
  if (!Number.isSafeInteger(afterMs) || afterMs <= 0) {
    throw new RangeError(`saga ${map.name}: a deadline must be a positive number of ms`);
  }
  const now = options.now ?? Date.now;
  const pollMs = options.pollMs ?? 1_000;
  const { expired } = deadline;
  // Checked on every arming (each saga's start): compiled once.
  const expiredContract = Compile(expired.schema);

  const fireOne = async (
    { db, outbox }: DeadlineContext,
    expire: ExpireSaga,
    sagaId: string,
  ): Promise<boolean> =>
    db.transaction(async (tx) => {
      const { rows } = await tx.query<DeadlineRow>(
        sql`delete from cads_saga_deadlines
            where saga = ${map.name} and saga_id = ${sagaId} and ctid = (
              select ctid from cads_saga_deadlines
              where saga = ${map.name} and saga_id = ${sagaId}
                and due_at <= ${new Date(now()).toISOString()}::timestamptz
              for update skip locked)
            returning saga_id, message, attempts`,
      );
      const row = rows[0];
      if (!row) return false;
      const { data, correlationid, traceparent } = row.message;
      const event = createMessage({
        type: expired.type,
        source: options.source,
        subject: sagaId,
        time: new Date(now()),
        data,
        ...(correlationid === undefined ? {} : { correlationid }),
        ...(traceparent === undefined ? {} : { traceparent: childTraceparent(traceparent) }),
      });
      const expiredEvent = await expire(tx, event);
      if (!expiredEvent) return false;
      if (!expiredContract.Check(expiredEvent.data)) {
        throw new TypeError(
          `saga ${map.name}: the tracker's ${expired.type} of ${sagaId} breaks its contract`,
        );
      }
      await outbox.enqueue(tx, [expiredEvent]);
      return true;
    });

  const fireDue = async (
    context: DeadlineContext,
    expire: ExpireSaga,
    limit = batchSize,
  ): Promise<number> => {
    const { rows } = await context.db.query<{ saga_id: string; attempts: number }>(
      sql`select saga_id, attempts from cads_saga_deadlines
          where saga = ${map.name} and due_at <= ${new Date(now()).toISOString()}::timestamptz
          order by due_at limit ${limit}`,
    );
    let fired = 0;
    for (const { saga_id: sagaId, attempts } of rows) {
      try {
        if (await fireOne(context, expire, sagaId)) {
          fired += 1;
          context.outbox.committed();
        }
      } catch (error) {
        if (isDatabaseUnavailable(error)) throw error;
        context.log.error(
          { err: error, saga: map.name, sagaId, attempts: attempts + 1 },
          'saga deadline failed to fire; trying again later',
        );
        const later = new Date(now() + failedFiringBackoffMs(attempts)).toISOString();
        await context.db.query(
          sql`update cads_saga_deadlines set attempts = attempts + 1, due_at = ${later}::timestamptz
              where saga = ${map.name} and saga_id = ${sagaId}`,
        );
      }
    }
    return fired;
  };

  return {
    afterMs,

    async arm(tx, saga) {
      const data = {
        ...saga.carried,
        [map.key]: saga.sagaId,
        [expired.reasonField]: timedOutReason,
      };
      if (!expiredContract.Check(data)) {
        const [first] = expiredContract.Errors(data);
        throw new TypeError(
          `saga ${map.name}: the deadline event ${expired.type} of ${saga.sagaId} would break its contract (${first?.instancePath || '/'} ${first?.message ?? ''}); carry the fields it requires`,
        );
      }
      const message = {
        data,
        ...(saga.correlationid === undefined ? {} : { correlationid: saga.correlationid }),
        ...(saga.traceparent === undefined ? {} : { traceparent: saga.traceparent }),
      };
      const dueAt = new Date(saga.startedAt.getTime() + afterMs).toISOString();
      await tx.query(
        sql`insert into cads_saga_deadlines (saga, saga_id, due_at, message)
            values (${map.name}, ${saga.sagaId}, ${dueAt}::timestamptz,
                    ${JSON.stringify(message)}::jsonb)
            on conflict (saga, saga_id) do nothing`,
      );
    },

    async disarm(tx, sagaId) {
      await tx.query(
        sql`delete from cads_saga_deadlines where saga = ${map.name} and saga_id = ${sagaId}`,
      );
    },

    fireDue,

    start(context, expire) {
      let stopped = false;
      let timer: NodeJS.Timeout | undefined;
      let running: Promise<void> | undefined;
      const poll = async () => {
        try {
          // A full batch means more may be due: go on at once.
          while (!stopped && (await fireDue(context, expire)) === batchSize);
        } catch (error) {
          context.log.warn(
            { err: error, saga: map.name },
            'saga deadlines: database unavailable; polling again',
          );
        }
      };
      const tick = () => {
        running = poll().finally(() => {
          if (!stopped) timer = setTimeout(tick, pollMs);
        });
      };
      timer = setTimeout(tick, 0);
      return async () => {
        stopped = true;
        clearTimeout(timer);
        await running;
      };
    },
  };
}
