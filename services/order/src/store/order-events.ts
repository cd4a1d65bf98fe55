import { sql, type Queryable } from '@cads/storage';
import type { RecordedEvent } from '../domain/order-state.ts';
import type { StoredOrder } from './orders.ts';

export interface NewOrderEvent extends RecordedEvent {
  readonly orderId: string;
  /** The user the event names: it is recorded only on an order of that user. */
  readonly userId: string;
}

/** The order's row as locked, before the event changes anything: whose it is, what it caches. */
export type LockedOrder = Pick<StoredOrder, 'userId' | 'priceCents' | 'status'>;

export type OrderEventRecording =
  | {
      /** An event with this id was already recorded, or the order is another user's. */
      readonly recorded: false;
      readonly order: LockedOrder;
    }
  | {
      readonly recorded: true;
      readonly order: LockedOrder;
      /** Every event recorded for the order, this one included (in no particular order). */
      readonly events: readonly RecordedEvent[];
    };

interface RecordingRow {
  order_user_id: string;
  order_price_cents: number;
  order_status: number;
  recorded: boolean;
  events: { event_id: string; type: string; time: string; data: Record<string, unknown> }[] | null;
}

/**
 * Locks the order's row until the transaction ends, records one saga event on it and, when it
 * is new, returns every event of the order: one call of `record_order_event` (migration 002).
 *
 * Guarantees:
 * - Holding the row lock serialises every recording on one order, even across instances; the
 *   events are read once the lock is held, so they include every committed one.
 * - Idempotent by event id: recording the same id again changes nothing (`recorded` false).
 * - Nothing is written for an unknown order (`undefined`) or for an order of another user
 *   than `event.userId` (`recorded` false; `order.userId` shows the mismatch).
 */
export async function recordOrderEvent(
  tx: Queryable,
  event: NewOrderEvent,
): Promise<OrderEventRecording | undefined> {
  const { rows } = await tx.query<RecordingRow>(
    sql`select * from record_order_event(${event.orderId}, ${event.userId}, ${event.id},
          ${event.type}, ${event.time}::timestamptz, ${JSON.stringify(event.data)}::jsonb)`,
  );
  const row = rows[0];
  if (!row) return undefined;
  const order = {
    userId: row.order_user_id,
    priceCents: row.order_price_cents,
    status: row.order_status,
  };
  if (!row.recorded) return { recorded: false, order };
  const events = (row.events ?? []).map((known) => ({
    id: known.event_id,
    type: known.type,
    time: new Date(known.time).toISOString(),
    data: known.data,
  }));
  return { recorded: true, order, events };
}

interface EventRow {
  event_id: string;
  type: string;
  time: Date;
  data: Record<string, unknown>;
}

/** Every event recorded for the order (in no particular order: the fold sorts). */
export async function listOrderEvents(db: Queryable, orderId: string): Promise<RecordedEvent[]> {
  const { rows } = await db.query<EventRow>(
    sql`select event_id, type, time, data from order_events where order_id = ${orderId}`,
  );
  return rows.map((row) => ({
    id: row.event_id,
    type: row.type,
    time: new Date(row.time).toISOString(),
    data: row.data,
  }));
}
