import { ChargeResponse } from '@cads/externals/contracts';
import { RiderAssigned } from '@cads/rider/contracts';
import { forwardStep, type StepDeadline } from '@cads/service';
import type { Bank } from '../bank.ts';
import { paymentEvents } from '../contracts/events.ts';
import { cancelled, done } from '../domain/charge.ts';
import { charges } from '../store/charges.ts';

/**
 * `rider_assigned` → charge the price → `payment_done` | `payment_cancelled` with the bank's
 * reason. The last step: nothing compensates it, so there is no release.
 */
export const onRiderAssigned = (bank: Bank, deadline: StepDeadline = {}) =>
  forwardStep({
    schema: RiderAssigned,
    store: charges,
    answer: ChargeResponse,
    call: (order) => bank.charge(order),
    accepted: (order, receipt) => ({ type: 'payment_done', data: done(order, receipt) }),
    rejected: (order, reason) => ({ type: 'payment_cancelled', data: cancelled(order, reason) }),
    events: paymentEvents,
    ...deadline,
  });
