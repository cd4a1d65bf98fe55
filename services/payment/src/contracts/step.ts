import { Id } from '@cads/order/contracts';
import { defineStep } from '@cads/saga';
import Type from 'typebox';
import { PaymentCancelled, PaymentDone, PaymentRefunded } from './events.ts';

/** What the payment step needs of the event before it: the order and the price to charge. */
export const PaymentInput = Type.Object({
  orderId: Id,
  userId: Id,
  priceCents: Type.Integer({ minimum: 0 }),
});

/**
 * The payment step of the food saga: the last one, so no later step's failure undoes it; only
 * the saga's deadline does, when the charge came after it (the charge is refunded in full).
 */
export const paymentStep = defineStep({
  name: 'payment',
  label: 'Payment',
  description: 'Charges the restaurant’s price.',
  input: PaymentInput,
  success: { type: 'payment_done', schema: PaymentDone },
  failure: {
    type: 'payment_cancelled',
    schema: PaymentCancelled,
    reasonField: 'paymentCancellationReason',
  },
  compensation: { type: 'payment_refunded', schema: PaymentRefunded },
  shows: [
    { field: 'amountCents', label: 'Charged', format: 'cents' },
    { field: 'receiptId', label: 'Receipt' },
  ],
});
