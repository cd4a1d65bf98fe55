import { OrderCreated, OrderTimedOut } from '@cads/order/contracts';
import { paymentStep } from '@cads/payment/contracts';
import { restaurantStep } from '@cads/restaurant/contracts';
import { riderStep } from '@cads/rider/contracts';
import { defineSaga, type SagaMap, type SagaStatus } from '@cads/saga';

/**
 * The food-delivery saga, declared once: the order service starts it with `order_created`
 * (and tracks it), then each step runs on the success of the one before. An order with no
 * final event 10 minutes after it was placed (the order service may be given another time) is
 * failed with `order_timed_out`, and every step that succeeded undoes its success. Adding a step means
 * its service's step declaration and one entry here; every reader (the order tracker, the BFF,
 * the web stepper, reconciliation, AsyncAPI, the diagram) follows the map.
 */
export const foodSagaDeclaration = {
  name: 'food-delivery',
  label: 'Food delivery',
  description: 'An order is reserved at the restaurant, given a rider, then paid.',
  key: 'orderId',
  start: { type: 'order_created', schema: OrderCreated, producer: 'order', label: 'Order' },
  steps: [restaurantStep, riderStep, paymentStep],
  deadline: {
    afterMs: 600_000,
    expired: { type: 'order_timed_out', schema: OrderTimedOut, reasonField: 'reason' },
    waitingOnField: 'step',
  },
} as const;

export const foodSaga = defineSaga(foodSagaDeclaration);
export type FoodSaga = typeof foodSaga;

/** Any map the food system runs on: the food saga, or one composed from it with more steps. */
export type FoodSagaMap = SagaMap;

/** The seed's order status codes for the saga's status: 0 created, 1 updated, 2 completed, 5 cancelled. */
export const orderStatusCode = {
  started: 0,
  running: 1,
  completed: 2,
  failed: 5,
} as const satisfies Record<SagaStatus, number>;
