import {
  externalEndpoint,
  installSagaStepTables,
  sagaStep,
  type ServiceDefinition,
  stepConsumerOptions,
  stepDeadline,
  type StepServiceOptions,
} from '@cads/service';
import Type from 'typebox';
import type { BookingStep } from './contracts/steps.ts';
import { tripSaga } from './trip-saga.ts';

/** What a supplier answers when it books. */
const Booking = Type.Object({ reference: Type.String({ minLength: 1 }) });

/**
 * The service of one booking step (flight, hotel or car), named after it: on its trigger it
 * books at its supplier, on a later failure or the deadline it cancels there. The step runtime
 * (`sagaStep`) keeps one record per trip and emits the step's event in the same transaction.
 *
 * The idempotency keys are derived from the trip and the step, never from the attempt, so a
 * redelivered event or a crash between the call and the commit never books twice.
 */
export function bookingService(step: BookingStep, options: StepServiceOptions): ServiceDefinition {
  const bookings = externalEndpoint(options, `/api/${step.name}/bookings`, `${step.name} supplier`);
  return {
    name: step.name,
    description: `${step.description} Cancels it when the trip fails after it.`,
    runtimeTables: [installSagaStepTables],
    consumer: {
      handlers: sagaStep(tripSaga, step, {
        answer: Booking,
        call: ({ tripId, destination }) =>
          bookings('POST', `${tripId}:${step.name}:book`, { tripId, destination }),
        release: ({ tripId }) => bookings('DELETE', `${tripId}:${step.name}:cancel`, { tripId }),
        succeeded: ({ tripId, destination }, { reference }) => ({ tripId, destination, reference }),
        failed: ({ tripId }, reason) => ({ tripId, reason }),
        compensated: ({ sagaId }) => ({ tripId: sagaId }),
        ...stepDeadline(options),
      }),
      ...stepConsumerOptions(options),
    },
  };
}
