import { Id } from '@cads/order/contracts';
import { defineStep } from '@cads/saga';
import Type from 'typebox';
import { RiderAssigned, RiderCancelled, RiderCompensated } from './events.ts';

/** What the rider step needs of the event before it: the order and the price to carry on. */
export const RiderInput = Type.Object({
  orderId: Id,
  userId: Id,
  priceCents: Type.Integer({ minimum: 0 }),
});

/** The rider step of the food saga, as the saga map reads it. */
export const riderStep = defineStep({
  name: 'rider',
  label: 'Rider',
  description: 'Assigns a rider to the order.',
  input: RiderInput,
  success: { type: 'rider_assigned', schema: RiderAssigned },
  failure: {
    type: 'rider_cancelled',
    schema: RiderCancelled,
    reasonField: 'riderCancellationReason',
  },
  compensation: { type: 'rider_compensated', schema: RiderCompensated },
  shows: [
    { field: 'riderName', label: 'Rider' },
    { field: 'riderPhone', label: 'Phone' },
  ],
});
