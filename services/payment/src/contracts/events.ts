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

/** The charge was refunded in full: the saga's deadline passed after it (a late charge). */
export const PaymentRefunded = Type.Object({
  orderId: Id,
  userId: Id,
  status: Type.Literal(5),
});
export type PaymentRefunded = Static<typeof PaymentRefunded>;

export const paymentEvents = {
  payment_done: PaymentDone,
  payment_cancelled: PaymentCancelled,
  payment_refunded: PaymentRefunded,
} as const;
