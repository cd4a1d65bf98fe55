import type { RiderAssigned, RiderCancelled, RiderCompensated } from '../contracts/events.ts';

export interface OrderRef {
  readonly orderId: string;
  readonly userId: string;
}

/** What the rider step needs of `restaurant_reserved`. */
export interface ReservedOrder extends OrderRef {
  readonly priceCents: number;
}

/** The riders' system's answer to an assignment. */
export interface Assignment {
  readonly riderId: string;
  readonly riderName: string;
  readonly riderPhone: string;
}

/** Same key for every attempt of one order's assignment, so it happens at most once. */
export const assignKey = (orderId: string): string => `${orderId}:rider:assign`;
export const releaseKey = (orderId: string): string => `${orderId}:rider:release`;

/** The body of `POST` and `DELETE /api/rider`. */
export function assignmentRequest(order: OrderRef) {
  return { orderId: order.orderId, userId: order.userId };
}

/** The price is carried on unchanged, so payment charges exactly what the restaurant priced. */
export function assigned(order: ReservedOrder, assignment: Assignment): RiderAssigned {
  return {
    orderId: order.orderId,
    userId: order.userId,
    riderId: assignment.riderId,
    riderName: assignment.riderName,
    riderPhone: assignment.riderPhone,
    priceCents: order.priceCents,
    status: 0,
  };
}

export function cancelled(order: OrderRef, reason: string): RiderCancelled {
  return {
    orderId: order.orderId,
    userId: order.userId,
    riderCancellationReason: reason,
    status: 4,
  };
}

export function compensated(order: OrderRef): RiderCompensated {
  return { orderId: order.orderId, userId: order.userId, status: 5 };
}
