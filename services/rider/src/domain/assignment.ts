import type { RiderAssigned, RiderCancelled, RiderCompensated } from '../contracts/events.ts';

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

/** What the rider step needs of the event before it (its declared input). */
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
