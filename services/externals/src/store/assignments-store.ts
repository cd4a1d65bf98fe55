import { sql, type Queryable } from '@cads/storage';
import type { GuardedWrite } from './guarded-write.ts';
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

/** Assigns a rider: the write of the call that answers with the assignment. */
export function insertAssignment(
  assignment: Omit<Assignment, 'status' | 'assignedAt' | 'releasedAt'>,
  at: Date,
): GuardedWrite {
  return (onlyIf) =>
    sql`insert into externals_assignments
          (rider_id, order_id, user_id, rider_name, rider_phone, assigned_at)
        select ${assignment.riderId}::text, ${assignment.orderId}::text, ${assignment.userId}::text,
               ${assignment.riderName}::text, ${assignment.riderPhone}::text,
               ${at.toISOString()}::timestamptz
        where ${onlyIf}`;
}

/** Unassigns every active rider of the order (of this user). */
export function releaseAssignments(
  order: { orderId: string; userId: string },
  at: Date,
): GuardedWrite {
  return (onlyIf) =>
    sql`update externals_assignments set released_at = ${at.toISOString()}
        where order_id = ${order.orderId} and user_id = ${order.userId} and released_at is null
          and ${onlyIf}`;
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
