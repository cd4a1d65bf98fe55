import { sql, type Queryable } from '@cads/storage';
import type { LedgerEntry } from '../contracts/api.ts';
import type { GuardedWrite } from './guarded-write.ts';
import { isoOf } from './timestamps.ts';

/** Books a charge: the write of the call that answers with its receipt. */
export function insertCharge(
  charge: { orderId: string; userId: string; amountCents: number; receiptId: string },
  at: Date,
): GuardedWrite {
  return (onlyIf) =>
    sql`insert into externals_ledger (order_id, user_id, kind, amount_cents, receipt_id, at)
        select ${charge.orderId}::text, ${charge.userId}::text, 'charge',
               ${charge.amountCents}::integer, ${charge.receiptId}::text,
               ${at.toISOString()}::timestamptz
        where ${onlyIf}`;
}

/**
 * Refunds every charge of the order (of this user) not refunded yet, each in full under the
 * charge's receipt id. The ledger's unique (kind, receipt_id) key turns a concurrent second
 * refund of a charge into a no-op.
 */
export function refundCharges(order: { orderId: string; userId: string }, at: Date): GuardedWrite {
  return (onlyIf) =>
    sql`insert into externals_ledger (order_id, user_id, kind, amount_cents, receipt_id, at)
        select charge.order_id, charge.user_id, 'refund', charge.amount_cents, charge.receipt_id,
               ${at.toISOString()}::timestamptz
        from externals_ledger charge
        where charge.kind = 'charge' and charge.order_id = ${order.orderId}
          and charge.user_id = ${order.userId} and ${onlyIf}
        on conflict (kind, receipt_id) do nothing`;
}

interface LedgerRow {
  order_id: string;
  user_id: string;
  kind: 'charge' | 'refund';
  amount_cents: number;
  receipt_id: string;
  at: unknown;
}

/** Charges and refunds in the order they were booked, filtered by order and/or user. */
export async function listLedger(
  db: Queryable,
  filter: { orderId?: string | undefined; userId?: string | undefined },
): Promise<LedgerEntry[]> {
  const orderId = filter.orderId ?? null;
  const userId = filter.userId ?? null;
  const { rows } = await db.query<LedgerRow>(
    sql`select order_id, user_id, kind, amount_cents, receipt_id, at
        from externals_ledger
        where (${orderId}::text is null or order_id = ${orderId})
          and (${userId}::text is null or user_id = ${userId})
        order by entry_id`,
  );
  return rows.map((row) => ({
    orderId: row.order_id,
    userId: row.user_id,
    kind: row.kind,
    amountCents: row.amount_cents,
    receiptId: row.receipt_id,
    at: isoOf(row.at),
  }));
}
