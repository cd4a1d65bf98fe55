import { sql, type Queryable } from '@cads/storage';

/**
 * The rider step's status of an order in the seed's codes (0 assigned, 4 rejected,
 * 5 unassigned), -1 without a record: read from the `rider_assignments` view
 * (`migrations/002_saga_steps.sql`), where the seed's tests and tools read it.
 */
export async function readAssignmentStatus(db: Queryable, orderId: string): Promise<number> {
  const { rows } = await db.query<{ status: number }>(
    sql`select status from rider_assignments where order_id = ${orderId}`,
  );
  return rows[0]?.status ?? -1;
}
