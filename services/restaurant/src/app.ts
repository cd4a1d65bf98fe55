import {
  type ServiceDefinition,
  stepConsumerOptions,
  stepDeadline,
  type StepServiceOptions,
} from '@cads/service';
import { onOrderCreated } from './handlers/on-order-created.ts';
import { onPaymentCancelled } from './handlers/on-payment-cancelled.ts';
import { onRiderCancelled } from './handlers/on-rider-cancelled.ts';
import { restaurantSystem } from './restaurant-system.ts';

export type RestaurantServiceOptions = StepServiceOptions;

/** The restaurant step: reserves each order at the restaurant, releases it on compensation. */
export function restaurantService(options: RestaurantServiceOptions): ServiceDefinition {
  const system = restaurantSystem(options);
  return {
    name: 'restaurant',
    description: 'Reserves orders at the restaurants and releases them when a later step fails.',
    migrations: new URL('../migrations/', import.meta.url),
    consumer: {
      handlers: {
        order_created: onOrderCreated(system, stepDeadline(options)),
        rider_cancelled: onRiderCancelled(system),
        payment_cancelled: onPaymentCancelled(system),
      },
      ...stepConsumerOptions(options),
    },
  };
}
