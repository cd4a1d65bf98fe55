import type { PaymentCancelled, PaymentDone, PaymentRefunded } from '../contracts/events.ts';

export interface OrderRef {
  readonly orderId: string;
  readonly userId: string;
}

/** What the payment step needs of `rider_assigned`. */
export interface AssignedOrder extends OrderRef {
  readonly priceCents: number;
}

/** The bank's answer to a charge. */
export interface Receipt {
  readonly receiptId: string;
  readonly amountCents: number;
}

/** What a compensation knows of the success it undoes (the saga step runtime's `Undone`). */
export interface Undone {
  readonly sagaId: string;
  readonly input: OrderRef | undefined;
  readonly cause: Readonly<Record<string, unknown>>;
}

/**
 * The order a refund is about: the input the charge was made with or, for a tombstone (the
 * deadline passed before the step ran), the deadline event, which names the user.
 */
export function refOf({ sagaId, input, cause }: Undone): OrderRef {
  return input ?? { orderId: sagaId, userId: typeof cause.userId === 'string' ? cause.userId : '' };
}

/** Same key for every attempt of one order's charge: a retry never charges twice. */
export const chargeKey = (orderId: string): string => `${orderId}:payment:charge`;
/** Same key for every attempt of one order's refund: it happens at most once. */
export const refundKey = (orderId: string): string => `${orderId}:payment:refund`;

/** The body of `DELETE /api/payment`: refund the order's charges in full. */
export function refundRequest(order: OrderRef) {
  return { orderId: order.orderId, userId: order.userId };
}

/** The body of `POST /api/payment`: the restaurant's price, carried by the rider step. */
export function chargeRequest(order: AssignedOrder) {
  return { orderId: order.orderId, userId: order.userId, amountCents: order.priceCents };
}

export function done(order: OrderRef, receipt: Receipt): PaymentDone {
  return {
    orderId: order.orderId,
    userId: order.userId,
    receiptId: receipt.receiptId,
    amountCents: receipt.amountCents,
    status: 0,
  };
}

/** `reason` is the bank's own text, never a generic one. */
export function cancelled(order: OrderRef, reason: string): PaymentCancelled {
  return {
    orderId: order.orderId,
    userId: order.userId,
    paymentCancellationReason: reason,
    status: 4,
  };
}

export function refunded(order: OrderRef): PaymentRefunded {
  return { orderId: order.orderId, userId: order.userId, status: 5 };
}
