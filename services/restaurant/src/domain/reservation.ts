import type {
  RestaurantCancelled,
  RestaurantCompensated,
  RestaurantReserved,
} from '../contracts/events.ts';

export interface OrderRef {
  readonly orderId: string;
  readonly userId: string;
}

/** What a compensation knows of the success it undoes (the saga step runtime's `Undone`). */
export interface Undone {
  readonly sagaId: string;
  readonly input: OrderRef | undefined;
  readonly cause: Readonly<Record<string, unknown>>;
}

/**
 * The order a compensation is about: the input the step succeeded with or, for a tombstone
 * (compensated before the step ran, so no input), the failure event, which names the user.
 * A failure event without one yields an empty user, which the compensation event's contract
 * refuses: a dead letter, never an event naming nobody.
 */
export function refOf({ sagaId, input, cause }: Undone): OrderRef {
  return input ?? { orderId: sagaId, userId: typeof cause.userId === 'string' ? cause.userId : '' };
}

export interface Order extends OrderRef {
  readonly restaurantId: string;
  readonly cart: ReadonlyArray<{ readonly itemId: string; readonly amount: number }>;
}

/** The restaurants' system's answer to a reservation. */
export interface Reservation {
  readonly priceCents: number;
  readonly restaurantPhone: string;
  readonly restaurantAddress: string;
}

/** Same key for every attempt of one order's reservation, so it happens at most once. */
export const reserveKey = (orderId: string): string => `${orderId}:restaurant:reserve`;
export const releaseKey = (orderId: string): string => `${orderId}:restaurant:release`;

/** The body of `POST /api/restaurant`: exactly the fields the system accepts. */
export function reservationRequest(order: Order) {
  return {
    orderId: order.orderId,
    userId: order.userId,
    restaurantId: order.restaurantId,
    cart: order.cart.map(({ itemId, amount }) => ({ itemId, amount })),
  };
}

export function reserved(order: Order, reservation: Reservation): RestaurantReserved {
  return {
    ...reservationRequest(order),
    priceCents: reservation.priceCents,
    restaurantPhone: reservation.restaurantPhone,
    restaurantAddress: reservation.restaurantAddress,
    status: 0,
  };
}

export function cancelled(order: OrderRef, reason: string): RestaurantCancelled {
  return {
    orderId: order.orderId,
    userId: order.userId,
    restaurantCancellationReason: reason,
    status: 4,
  };
}

export function compensated(order: OrderRef): RestaurantCompensated {
  return { orderId: order.orderId, userId: order.userId, status: 5 };
}
