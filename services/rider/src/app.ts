import {
  type ServiceDefinition,
  stepConsumerOptions,
  stepDeadline,
  type StepServiceOptions,
} from '@cads/service';
import { onPaymentCancelled } from './handlers/on-payment-cancelled.ts';
import { onRestaurantReserved } from './handlers/on-restaurant-reserved.ts';
import { riderSystem } from './rider-system.ts';

export type RiderServiceOptions = StepServiceOptions;

/** The rider step: assigns a rider to each reserved order, releases it on compensation. */
export function riderService(options: RiderServiceOptions): ServiceDefinition {
  const system = riderSystem(options);
  return {
    name: 'rider',
    description: 'Assigns riders to reserved orders and releases them when payment fails.',
    migrations: new URL('../migrations/', import.meta.url),
    consumer: {
      handlers: {
        restaurant_reserved: onRestaurantReserved(system, stepDeadline(options)),
        payment_cancelled: onPaymentCancelled(system),
      },
      ...stepConsumerOptions(options),
    },
  };
}
