import type { Cart } from '@cads/order/contracts';
import { sql, type Queryable } from '@cads/storage';
import type { RecordedEvent } from '../domain/order-state.ts';

/** An order as stored; `status` is the cached result of the fold over its events. */
export interface StoredOrder {
  readonly orderId: string;
  readonly userId: string;
  readonly restaurantId: string;
  readonly cart: Cart;
  readonly priceCents: number;
  readonly status: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

interface OrderRow {
  order_id: string;
  user_id: string;
  restaurant_id: string;
  cart: Cart;
  price_cents: number;
  status: number;
  created_at: Date;
  updated_at: Date;
}

const toOrder = (row: OrderRow): StoredOrder => ({
  orderId: row.order_id,
  userId: row.user_id,
  restaurantId: row.restaurant_id,
  cart: row.cart,
  priceCents: row.price_cents,
  status: row.status,
  createdAt: new Date(row.created_at),
  updatedAt: new Date(row.updated_at),
});

export type NewOrder = Omit<StoredOrder, 'updatedAt'>;

/**
 * Inserts a new order and the first entry of its timeline (its `order_created`) in one
 * statement. Fails on an existing order id or event id (both are fresh UUIDs, so that is a bug).
 */
export async function insertOrder(
  tx: Queryable,
  order: NewOrder,
  created: RecordedEvent,
): Promise<void> {
  const createdAt = order.createdAt.toISOString();
  await tx.query(
    sql`with inserted as (
          insert into orders (order_id, user_id, restaurant_id, cart, price_cents, status,
                              created_at, updated_at)
          values (${order.orderId}, ${order.userId}, ${order.restaurantId},
                  ${JSON.stringify(order.cart)}::jsonb, ${order.priceCents}, ${order.status},
                  ${createdAt}::timestamptz, ${createdAt}::timestamptz)
          returning order_id
        )
        insert into order_events (event_id, order_id, type, time, data)
        select ${created.id}, order_id, ${created.type}, ${created.time}::timestamptz,
               ${JSON.stringify(created.data)}::jsonb
        from inserted`,
  );
}

/** Rewrites the cached status; call it under the order's row lock (see `recordOrderEvent`). */
export async function updateOrderStatus(
  tx: Queryable,
  orderId: string,
  status: number,
): Promise<void> {
  await tx.query(
    sql`update orders set status = ${status}, updated_at = now() where order_id = ${orderId}`,
  );
}

export async function findOrder(db: Queryable, orderId: string): Promise<StoredOrder | undefined> {
  const { rows } = await db.query<OrderRow>(sql`select * from orders where order_id = ${orderId}`);
  return rows[0] && toOrder(rows[0]);
}

/** A user's orders, newest first. */
export async function listOrdersOfUser(
  db: Queryable,
  userId: string,
  limit: number,
): Promise<StoredOrder[]> {
  const { rows } = await db.query<OrderRow>(
    sql`select * from orders where user_id = ${userId}
        order by created_at desc, order_id desc
        limit ${limit}`,
  );
  return rows.map(toOrder);
}

/** The order's status code, or -1 when there is no such order. */
export async function readOrderStatus(db: Queryable, orderId: string): Promise<number> {
  const { rows } = await db.query<{ status: number }>(
    sql`select status from orders where order_id = ${orderId}`,
  );
  return rows[0]?.status ?? -1;
}
