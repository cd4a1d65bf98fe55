import { sql, type Queryable } from '@cads/storage';
import type { RecordedEvent } from '../domain/order-state.ts';

export interface NewOrderEvent extends RecordedEvent {
  readonly orderId: string;
}

/**
 * Records one saga event of an order. Idempotent by event id: recording the same id again
 * changes nothing and returns false.
 */
export async function recordOrderEvent(tx: Queryable, event: NewOrderEvent): Promise<boolean> {
  const { rowCount } = await tx.query(
    sql`insert into order_events (event_id, order_id, type, time, data)
        values (${event.id}, ${event.orderId}, ${event.type}, ${event.time}::timestamptz,
                ${JSON.stringify(event.data)}::jsonb)
        on conflict (event_id) do nothing`,
  );
  return rowCount > 0;
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
