/**
 * A fifth step for the food saga, declared and served entirely here: the kitchen, between the
 * restaurant and the rider, which refuses an order holding a dish it cannot cook. It proves that
 * adding a step takes its own service and one entry in the map — no production file changes:
 * every service, the tracker, the BFF, reconciliation and the web page follow the map.
 */
import { foodSagaDeclaration } from '@cads/food-saga';
import { Cart, Id } from '@cads/order/contracts';
import { paymentStep } from '@cads/payment/contracts';
import { restaurantStep } from '@cads/restaurant/contracts';
import { riderStep } from '@cads/rider/contracts';
import { defineSaga, defineStep, type SagaMap } from '@cads/saga';
import { installSagaStepTables, sagaStep, type ServiceDefinition } from '@cads/service';
import Type from 'typebox';

const Ref = { orderId: Id, userId: Id };

export const KitchenInput = Type.Object({ ...Ref, cart: Cart, priceCents: Type.Integer() });
export const KitchenAccepted = Type.Object({
  ...Ref,
  /** Carried on: the rider step needs the price. */
  priceCents: Type.Integer({ minimum: 0 }),
  readyInMinutes: Type.Integer({ minimum: 1 }),
});
export const KitchenRefused = Type.Object({
  ...Ref,
  kitchenRefusalReason: Type.String({ minLength: 1 }),
});
export const KitchenReleased = Type.Object(Ref);

export const kitchenStep = defineStep({
  name: 'kitchen',
  label: 'Kitchen',
  description: 'Books the cooking of the order.',
  input: KitchenInput,
  success: { type: 'kitchen_accepted', schema: KitchenAccepted },
  failure: { type: 'kitchen_refused', schema: KitchenRefused, reasonField: 'kitchenRefusalReason' },
  compensation: { type: 'kitchen_released', schema: KitchenReleased },
  shows: [{ field: 'readyInMinutes', label: 'Ready in (min)' }],
});

/** The food saga with the kitchen after the restaurant: its one new entry. */
export const kitchenSaga: SagaMap = defineSaga({
  ...foodSagaDeclaration,
  steps: [restaurantStep, kitchenStep, riderStep, paymentStep],
});

/** The dish the kitchen cannot cook: an order holding it is refused. */
export const uncookableItem = 'p03';
export const kitchenRefusal = 'the oven is broken';

/** What the kitchen did, for assertions: cooking booked and released, per order. */
export interface KitchenLog {
  readonly booked: string[];
  readonly released: string[];
}

/**
 * The kitchen's service: no external system of its own (the "call" is a local decision), the
 * step runtime does the rest — records, idempotency, compensation on any later failure.
 */
export function kitchenService(saga: SagaMap, log: KitchenLog): ServiceDefinition {
  return {
    name: 'kitchen',
    description: 'Books the cooking of each order; a test fixture.',
    runtimeTables: [installSagaStepTables],
    consumer: {
      handlers: sagaStep(saga, kitchenStep, {
        answer: Type.Object({ readyInMinutes: Type.Integer() }),
        call: (order) => {
          if (order.cart.some((line) => line.itemId === uncookableItem)) {
            return Promise.resolve({ ok: false, status: 409, reason: kitchenRefusal });
          }
          log.booked.push(order.orderId);
          return Promise.resolve({ ok: true, status: 201, body: { readyInMinutes: 20 } });
        },
        release: (order) => {
          log.released.push(order.orderId);
          return Promise.resolve({ ok: true, status: 200, body: {} });
        },
        succeeded: (order, answer) => ({
          orderId: order.orderId,
          userId: order.userId,
          priceCents: order.priceCents,
          readyInMinutes: answer.readyInMinutes,
        }),
        failed: (order, reason) => ({
          orderId: order.orderId,
          userId: order.userId,
          kitchenRefusalReason: reason,
        }),
        compensated: (undone) => ({
          orderId: undone.sagaId,
          userId: String(undone.input?.userId ?? undone.cause.userId),
        }),
      }),
    },
  };
}
