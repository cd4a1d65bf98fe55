import { sql, type Queryable } from '@cads/storage';

/**
 * The payment step's status of an order in the seed's codes (0 charged, 4 rejected), -1
 * without a record: read from the `payment_charges` view (`migrations/002_saga_steps.sql`),
 * where the seed's tests and tools read it.
 */
export async function readChargeStatus(db: Queryable, orderId: string): Promise<number> {
  const { rows } = await db.query<{ status: number }>(
    sql`select status from payment_charges where order_id = ${orderId}`,
  );
  return rows[0]?.status ?? -1;
}
