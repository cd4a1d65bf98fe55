import { Id } from '@cads/order/contracts';
import Type, { type Static } from 'typebox';

export const PaymentDone = Type.Object({
  orderId: Id,
  userId: Id,
  receiptId: Id,
  amountCents: Type.Integer({ minimum: 0 }),
  status: Type.Literal(0),
});
export type PaymentDone = Static<typeof PaymentDone>;

export const PaymentCancelled = Type.Object({
  orderId: Id,
  userId: Id,
  /** The bank's own reason, never a generic text. */
  paymentCancellationReason: Type.String({ minLength: 1 }),
  status: Type.Literal(4),
});
export type PaymentCancelled = Static<typeof PaymentCancelled>;

export const paymentEvents = {
  payment_done: PaymentDone,
  payment_cancelled: PaymentCancelled,
} as const;
