import { sql, type Queryable } from '@cads/storage';

/**
 * The restaurant step's status of an order in the seed's codes (0 reserved, 4 rejected,
 * 5 released), -1 without a record: read from the `restaurant_reservations` view
 * (`migrations/002_saga_steps.sql`), where the seed's tests and tools read it.
 */
export async function readReservationStatus(db: Queryable, orderId: string): Promise<number> {
  const { rows } = await db.query<{ status: number }>(
    sql`select status from restaurant_reservations where order_id = ${orderId}`,
  );
  return rows[0]?.status ?? -1;
}
