import { ChargeResponse } from '@cads/externals/contracts';
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
import { bank } from './bank.ts';
import { paymentStep } from './contracts/step.ts';
import { cancelled, done, refOf, refunded } from './domain/charge.ts';

export interface PaymentServiceOptions extends StepServiceOptions {
  /** The saga the step runs in: it decides what triggers the step. */
  readonly saga?: SagaMap;
}

/**
 * The payment step: charges each order once, at the price the restaurant gave, when the step
 * before it succeeded (the map's trigger), and refunds it in full when the saga's deadline
 * passed first (the map's `compensateOn`: no later step can fail).
 */
export function paymentService(options: PaymentServiceOptions): ServiceDefinition {
  const charges = bank(options);
  return {
    name: 'payment',
    description:
      'Charges orders at the bank, once per order, and refunds a charge that came after the deadline.',
    migrations: new URL('../migrations/', import.meta.url),
    runtimeTables: [installSagaStepTables],
    consumer: {
      handlers: sagaStep(options.saga ?? foodSaga, paymentStep, {
        answer: ChargeResponse,
        call: (order) => charges.charge(order),
        release: (order) => charges.refund(order),
        succeeded: done,
        failed: cancelled,
        compensated: (undone) => refunded(refOf(undone)),
        ...stepDeadline(options),
      }),
      ...stepConsumerOptions(options),
    },
  };
}
