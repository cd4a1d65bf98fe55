import { foodSaga } from '@cads/food-saga';
import type { SagaMap } from '@cads/saga';
import { sql, type Queryable } from '@cads/storage';
import type {
  ExternalHold,
  FinalDecision,
  LedgerEntry,
  NotificationRecord,
  OrderEventRecord,
  OrderRecord,
  ReconcileSnapshot,
  StepRecord,
} from './reconcile.ts';

/** A snapshot and the instant reading it began (the externals database's clock). */
export interface ReadSnapshot {
  readonly snapshot: ReconcileSnapshot;
  /**
   * Pass it to `reconcile` as `now`: an order with any activity after it was being changed
   * while the databases were read, and is left alone until a later run.
   */
  readonly startedAt: Date;
}

/**
 * Reads what `reconcile` compares from every service's database. The databases are read one
 * after the other, effects before their causes' owners: the externals and the BFF first, the
 * step services next, the order service last. A record can then never be newer than the order
 * it belongs to, so a young order never shows up as unknown. An order that changed while its
 * records were read has activity after `startedAt`, and `reconcile` waits for it to settle.
 */
export async function readReconcileSnapshot(
  databaseFor: (service: string) => Promise<Queryable>,
  saga: SagaMap = foodSaga,
): Promise<ReadSnapshot> {
  const externals = await databaseFor('externals');
  const { rows } = await externals.query<{ now: unknown }>(sql`select now() as now`);
  const ledger = await readLedger(externals);
  const reservations = await readReservations(externals);
  const assignments = await readAssignments(externals);
  // A decision to notify is committed after the notification was stored: read it first.
  const finalDecisions = await readFinalDecisions(await databaseFor('bff'));
  const notifications = await readNotifications(await databaseFor('notifications'));
  // Later steps first: a step's record is never newer than the one before it that caused it.
  const steps: Record<string, StepRecord[]> = {};
  for (const step of [...saga.steps].reverse()) {
    steps[step.name] = await readStepRecords(await databaseFor(step.name), step.name);
  }
  const order = await databaseFor('order');
  const orderEvents = await readOrderEvents(order);
  const orders = await readOrders(order);
  return {
    snapshot: {
      orders,
      orderEvents,
      steps,
      ledger,
      reservations,
      assignments,
      notifications,
      finalDecisions,
    },
    startedAt: instant(rows[0]?.now),
  };
}

/** Both adapters parse `timestamptz` to a `Date`; a string is accepted should one not. */
function instant(value: unknown): Date {
  if (value instanceof Date) return value;
  if (typeof value === 'string') return new Date(value);
  throw new TypeError(`expected a timestamp, got ${typeof value}`);
}

export async function readOrders(db: Queryable): Promise<OrderRecord[]> {
  const { rows } = await db.query<{
    order_id: string;
    user_id: string;
    status: number;
    price_cents: number;
    created_at: unknown;
    updated_at: unknown;
  }>(sql`select order_id, user_id, status, price_cents, created_at, updated_at from orders`);
  return rows.map((row) => ({
    orderId: row.order_id,
    userId: row.user_id,
    status: row.status,
    priceCents: row.price_cents,
    createdAt: instant(row.created_at),
    updatedAt: instant(row.updated_at),
  }));
}

export async function readOrderEvents(db: Queryable): Promise<OrderEventRecord[]> {
  const { rows } = await db.query<{
    event_id: string;
    order_id: string;
    type: string;
    recorded_at: unknown;
  }>(sql`select event_id, order_id, type, recorded_at from order_events`);
  return rows.map((row) => ({
    eventId: row.event_id,
    orderId: row.order_id,
    type: row.type,
    recordedAt: instant(row.recorded_at),
  }));
}

/** A step service's seed table: a view over the saga step runtime's records (codes 0/4/5). */
/**
 * A step's records, from the step runtime's table (`cads_saga_steps`) in its service's
 * database, with the seed's codes (0 succeeded, 4 rejected, 5 compensated). The user is the
 * one of the input the step ran with, or for a tombstone of the failure that compensated it.
 */
export async function readStepRecords(db: Queryable, step: string): Promise<StepRecord[]> {
  const { rows } = await db.query<{
    saga_id: string;
    user_id: string | null;
    status: 'succeeded' | 'rejected' | 'compensated';
    tombstone: boolean;
    details: unknown;
    updated_at: unknown;
  }>(
    sql`select saga_id, coalesce(input ->> 'userId', cause ->> 'userId') as user_id, status,
               tombstone, details, updated_at
        from cads_saga_steps where step = ${step}`,
  );
  const codes = { succeeded: 0, rejected: 4, compensated: 5 } as const;
  return rows.map((row) => ({
    orderId: row.saga_id,
    userId: row.user_id ?? '',
    status: codes[row.status],
    compensatedBeforeForward: row.tombstone,
    details: row.details,
    updatedAt: instant(row.updated_at),
  }));
}

export async function readLedger(db: Queryable): Promise<LedgerEntry[]> {
  const { rows } = await db.query<{
    order_id: string;
    user_id: string;
    kind: 'charge' | 'refund';
    amount_cents: number;
    receipt_id: string;
    at: unknown;
  }>(
    sql`select order_id, user_id, kind, amount_cents, receipt_id, at
        from externals_ledger order by entry_id`,
  );
  return rows.map((row) => ({
    orderId: row.order_id,
    userId: row.user_id,
    kind: row.kind,
    amountCents: row.amount_cents,
    receiptId: row.receipt_id,
    at: instant(row.at),
  }));
}

interface HoldRow {
  hold_id: string;
  order_id: string;
  user_id: string;
  held_at: unknown;
  released_at: unknown;
}

const toHold = (row: HoldRow): ExternalHold => ({
  holdId: row.hold_id,
  orderId: row.order_id,
  userId: row.user_id,
  heldAt: instant(row.held_at),
  releasedAt: row.released_at === null ? null : instant(row.released_at),
});

export async function readReservations(db: Queryable): Promise<ExternalHold[]> {
  const { rows } = await db.query<HoldRow>(
    sql`select reservation_id as hold_id, order_id, user_id, reserved_at as held_at, released_at
        from externals_reservations`,
  );
  return rows.map(toHold);
}

export async function readAssignments(db: Queryable): Promise<ExternalHold[]> {
  const { rows } = await db.query<HoldRow>(
    sql`select rider_id as hold_id, order_id, user_id, assigned_at as held_at, released_at
        from externals_assignments`,
  );
  return rows.map(toHold);
}

export async function readNotifications(db: Queryable): Promise<NotificationRecord[]> {
  const { rows } = await db.query<{
    event_id: string;
    order_id: string;
    user_id: string;
    created_at: unknown;
  }>(sql`select event_id, order_id, user_id, created_at from notifications`);
  return rows.map((row) => ({
    eventId: row.event_id,
    orderId: row.order_id,
    userId: row.user_id,
    createdAt: instant(row.created_at),
  }));
}

export async function readFinalDecisions(db: Queryable): Promise<FinalDecision[]> {
  const { rows } = await db.query<{
    event_id: string;
    order_id: string;
    user_id: string;
    type: string;
    notified: boolean;
    decided_at: unknown;
  }>(sql`select event_id, order_id, user_id, type, notified, decided_at from bff_final_events`);
  return rows.map((row) => ({
    eventId: row.event_id,
    orderId: row.order_id,
    userId: row.user_id,
    type: row.type,
    notified: row.notified,
    decidedAt: instant(row.decided_at),
  }));
}
