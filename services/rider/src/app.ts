import { AssignRiderResponse } from '@cads/externals/contracts';
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
import { riderStep } from './contracts/step.ts';
import { assigned, cancelled, compensated, refOf } from './domain/assignment.ts';
import { riderSystem } from './rider-system.ts';

export interface RiderServiceOptions extends StepServiceOptions {
  /** The saga the step runs in: it decides what triggers the step and what undoes it. */
  readonly saga?: SagaMap;
}

/**
 * The rider step: assigns a rider to each order when the step before it succeeded (the map's
 * trigger), releases the rider when a later step fails (the map's `compensateOn`).
 */
export function riderService(options: RiderServiceOptions): ServiceDefinition {
  const system = riderSystem(options);
  return {
    name: 'rider',
    description: 'Assigns riders to orders and releases them when a later step fails.',
    migrations: new URL('../migrations/', import.meta.url),
    runtimeTables: [installSagaStepTables],
    consumer: {
      handlers: sagaStep(options.saga ?? foodSaga, riderStep, {
        answer: AssignRiderResponse,
        call: (order) => system.assign(order),
        release: (order) => system.release(order),
        succeeded: assigned,
        failed: cancelled,
        compensated: (undone) => compensated(refOf(undone)),
        ...stepDeadline(options),
      }),
      ...stepConsumerOptions(options),
    },
  };
}
