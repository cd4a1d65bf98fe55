import type { PaymentCancelled, PaymentDone } from '../contracts/events.ts';

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

/** Same key for every attempt of one order's charge: a retry never charges twice. */
export const chargeKey = (orderId: string): string => `${orderId}:payment:charge`;

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
