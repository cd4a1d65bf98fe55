import { PaymentCancelled } from '@cads/payment/contracts';
import { compensationStep } from '@cads/service';
import { riderEvents } from '../contracts/events.ts';
import { compensated } from '../domain/assignment.ts';
import type { RiderSystem } from '../rider-system.ts';
import { assignments } from '../store/assignments.ts';

/** `payment_cancelled` → release the rider → `rider_compensated`. */
export const onPaymentCancelled = (system: RiderSystem) =>
  compensationStep({
    schema: PaymentCancelled,
    store: assignments,
    release: (order) => system.release(order),
    compensated: (order) => ({ type: 'rider_compensated', data: compensated(order) }),
    events: riderEvents,
  });
