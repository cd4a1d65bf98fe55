export type { PaymentServiceOptions } from './app.ts';
export { paymentService } from './app.ts';
/** The payment step's status of an order (0, 4), or -1 without a record. For tests and tools. */
export { readChargeStatus as readPaymentStatus } from './store/charges.ts';
