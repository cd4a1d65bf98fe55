import type { Cart } from '@cads/order/contracts';
import { sql, type Queryable } from '@cads/storage';

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

/** Inserts a new order; fails on an existing id (ids are fresh UUIDv7s, so that is a bug). */
export async function insertOrder(tx: Queryable, order: NewOrder): Promise<void> {
  await tx.query(
    sql`insert into orders (order_id, user_id, restaurant_id, cart, price_cents, status, created_at, updated_at)
        values (${order.orderId}, ${order.userId}, ${order.restaurantId}, ${JSON.stringify(order.cart)}::jsonb,
                ${order.priceCents}, ${order.status}, ${order.createdAt.toISOString()}::timestamptz,
                ${order.createdAt.toISOString()}::timestamptz)`,
  );
}

/**
 * Locks the order's row until the transaction ends and returns it. Holding it serialises
 * every recompute of one order, even across instances consuming the same group.
 */
export async function lockOrder(tx: Queryable, orderId: string): Promise<StoredOrder | undefined> {
  const { rows } = await tx.query<OrderRow>(
    sql`select * from orders where order_id = ${orderId} for update`,
  );
  return rows[0] && toOrder(rows[0]);
}

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
