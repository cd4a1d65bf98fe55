import { sql, type Queryable, type Transaction } from '@cads/storage';
import { isoOf, isoOrUndefined } from './timestamps.ts';

export interface Assignment {
  readonly riderId: string;
  readonly riderName: string;
  readonly riderPhone: string;
  readonly orderId: string;
  readonly userId: string;
  readonly status: 'active' | 'released';
  readonly assignedAt: string;
  readonly releasedAt?: string;
}

export async function insertAssignment(
  tx: Transaction,
  assignment: Omit<Assignment, 'status' | 'assignedAt' | 'releasedAt'>,
  at: Date,
): Promise<void> {
  await tx.query(
    sql`insert into externals_assignments
          (rider_id, order_id, user_id, rider_name, rider_phone, assigned_at)
        values (${assignment.riderId}, ${assignment.orderId}, ${assignment.userId},
                ${assignment.riderName}, ${assignment.riderPhone}, ${at.toISOString()})`,
  );
}

/** Unassigns every active rider of the order (of this user); returns how many. */
export async function releaseAssignments(
  tx: Transaction,
  order: { orderId: string; userId: string },
  at: Date,
): Promise<number> {
  const { rowCount } = await tx.query(
    sql`update externals_assignments set released_at = ${at.toISOString()}
        where order_id = ${order.orderId} and user_id = ${order.userId} and released_at is null`,
  );
  return rowCount;
}

interface AssignmentRow {
  rider_id: string;
  order_id: string;
  user_id: string;
  rider_name: string;
  rider_phone: string;
  assigned_at: unknown;
  released_at: unknown;
}

/** Assignments, active and released, oldest first; of one order when `orderId` is given. */
export async function listAssignments(
  db: Queryable,
  filter: { orderId?: string | undefined },
): Promise<Assignment[]> {
  const { rows } = await db.query<AssignmentRow>(
    sql`select rider_id, order_id, user_id, rider_name, rider_phone, assigned_at, released_at
        from externals_assignments
        where (${filter.orderId ?? null}::text is null or order_id = ${filter.orderId ?? null})
        order by assigned_at, rider_id`,
  );
  return rows.map((row) => {
    const releasedAt = isoOrUndefined(row.released_at);
    return {
      riderId: row.rider_id,
      riderName: row.rider_name,
      riderPhone: row.rider_phone,
      orderId: row.order_id,
      userId: row.user_id,
      status: releasedAt === undefined ? 'active' : 'released',
      assignedAt: isoOf(row.assigned_at),
      ...(releasedAt === undefined ? {} : { releasedAt }),
    };
  });
}
