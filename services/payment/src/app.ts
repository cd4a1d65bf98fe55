import {
  type ServiceDefinition,
  stepConsumerOptions,
  stepDeadline,
  type StepServiceOptions,
} from '@cads/service';
import { bank } from './bank.ts';
import { onRiderAssigned } from './handlers/on-rider-assigned.ts';

export type PaymentServiceOptions = StepServiceOptions;

/** The payment step: charges each order once, at the price the restaurant gave. */
export function paymentService(options: PaymentServiceOptions): ServiceDefinition {
  return {
    name: 'payment',
    description: 'Charges orders at the bank, once per order.',
    migrations: new URL('../migrations/', import.meta.url),
    consumer: {
      handlers: { rider_assigned: onRiderAssigned(bank(options), stepDeadline(options)) },
      ...stepConsumerOptions(options),
    },
  };
}
