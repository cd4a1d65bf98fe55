import { foodSaga, orderStatusCode } from '@cads/food-saga';
import type { SagaMap } from '@cads/saga';
import {
  createOrderTracker,
  type OrderFacts,
  type OrderState,
  type OrderTracker,
  type RecordedEvent,
} from './domain/order-state.ts';

const foodTracker = createOrderTracker(foodSaga, orderStatusCode);

/** The tracker of orders on `saga` (default: the food saga), with the seed's status codes. */
export function orderTracker(saga: SagaMap = foodSaga): OrderTracker {
  return saga === foodSaga ? foodTracker : createOrderTracker(saga, orderStatusCode);
}

/** An order's state on the food saga, from its facts and the set of its recorded events. */
export function foldOrder(facts: OrderFacts, events: readonly RecordedEvent[]): OrderState {
  return foodTracker.fold(facts, events);
}
