import { ReserveRestaurantResponse } from '@cads/externals/contracts';
import { foodSaga } from '@cads/food-saga';
import type { SagaMap } from '@cads/saga';
import {
  installSagaStepTables,
  sagaStep,
  type ServiceDefinition,
  stepConsumerOptions,
  stepDeadline,
  type StepServiceOptions,
} from '@cads/service';
import { restaurantStep } from './contracts/step.ts';
import { cancelled, compensated, refOf, reserved } from './domain/reservation.ts';
import { restaurantSystem } from './restaurant-system.ts';

export interface RestaurantServiceOptions extends StepServiceOptions {
  /** The saga the step runs in: it decides what triggers the step and what undoes it. */
  readonly saga?: SagaMap;
}

/**
 * The restaurant step: reserves each order at the restaurant when the step before it succeeded
 * (the map's trigger), releases it when a later step fails (the map's `compensateOn`).
 */
export function restaurantService(options: RestaurantServiceOptions): ServiceDefinition {
  const system = restaurantSystem(options);
  return {
    name: 'restaurant',
    description: 'Reserves orders at the restaurants and releases them when a later step fails.',
    migrations: new URL('../migrations/', import.meta.url),
    runtimeTables: [installSagaStepTables],
    consumer: {
      handlers: sagaStep(options.saga ?? foodSaga, restaurantStep, {
        answer: ReserveRestaurantResponse,
        call: (order) => system.reserve(order),
        release: (order) => system.release(order),
        succeeded: reserved,
        failed: cancelled,
        compensated: (undone) => compensated(refOf(undone)),
        ...stepDeadline(options),
      }),
      ...stepConsumerOptions(options),
    },
  };
}
