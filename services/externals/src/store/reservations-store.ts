import { sql, type Queryable } from '@cads/storage';
import type { CartLine } from '../contracts/menu.ts';
import type { GuardedWrite } from './guarded-write.ts';
import { isoOf, isoOrUndefined } from './timestamps.ts';

export interface Reservation {
  readonly reservationId: string;
  readonly orderId: string;
  readonly userId: string;
  readonly restaurantId: string;
  readonly cart: CartLine[];
  readonly priceCents: number;
  readonly status: 'active' | 'released';
  readonly reservedAt: string;
  readonly releasedAt?: string;
}

/** Reserves a cart: the write of the call that answers with the reservation. */
export function insertReservation(
  reservation: Omit<Reservation, 'status' | 'reservedAt' | 'releasedAt'>,
  at: Date,
): GuardedWrite {
  return (onlyIf) =>
    sql`insert into externals_reservations
          (reservation_id, order_id, user_id, restaurant_id, cart, price_cents, reserved_at)
        select ${reservation.reservationId}::text, ${reservation.orderId}::text,
               ${reservation.userId}::text, ${reservation.restaurantId}::text,
               ${JSON.stringify(reservation.cart)}::jsonb, ${reservation.priceCents}::integer,
               ${at.toISOString()}::timestamptz
        where ${onlyIf}`;
}

/** Releases every active reservation of the order (of this user). */
export function releaseReservations(
  order: { orderId: string; userId: string },
  at: Date,
): GuardedWrite {
  return (onlyIf) =>
    sql`update externals_reservations set released_at = ${at.toISOString()}
        where order_id = ${order.orderId} and user_id = ${order.userId} and released_at is null
          and ${onlyIf}`;
}

interface ReservationRow {
  reservation_id: string;
  order_id: string;
  user_id: string;
  restaurant_id: string;
  cart: CartLine[];
  price_cents: number;
  reserved_at: unknown;
  released_at: unknown;
}

/** Reservations, active and released, oldest first; of one order when `orderId` is given. */
export async function listReservations(
  db: Queryable,
  filter: { orderId?: string | undefined },
): Promise<Reservation[]> {
  const { rows } = await db.query<ReservationRow>(
    sql`select reservation_id, order_id, user_id, restaurant_id, cart, price_cents,
               reserved_at, released_at
        from externals_reservations
        where (${filter.orderId ?? null}::text is null or order_id = ${filter.orderId ?? null})
        order by reserved_at, reservation_id`,
  );
  return rows.map((row) => {
    const releasedAt = isoOrUndefined(row.released_at);
    return {
      reservationId: row.reservation_id,
      orderId: row.order_id,
      userId: row.user_id,
      restaurantId: row.restaurant_id,
      cart: row.cart,
      priceCents: row.price_cents,
      status: releasedAt === undefined ? 'active' : 'released',
      reservedAt: isoOf(row.reserved_at),
      ...(releasedAt === undefined ? {} : { releasedAt }),
    };
  });
}
