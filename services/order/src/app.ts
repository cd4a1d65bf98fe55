import { foodSaga } from '@cads/food-saga';
import type { SagaMap } from '@cads/saga';
import type { ServiceDefinition } from '@cads/service';
import { outcomeHandlers } from './handlers/on-outcome.ts';
import { registerOrderRoutes } from './http/routes/register-order-routes.ts';
import { orderTracker } from './order-tracker.ts';

export interface OrderServiceOptions {
  /** The clock stamping new orders and their `order_created`. Default: the system clock. */
  readonly now?: () => Date;
  /**
   * The saga this service starts and tracks. Default: the food saga. Any map composed from it
   * (more steps) works unchanged: what to consume, how to fold it and what to show all come
   * from the map.
   */
  readonly saga?: SagaMap;
}

/**
 * The order service: mints order ids, accepts orders (`POST /api/orders`) and starts their
 * saga with `order_created`, consumes every outcome event of the saga and serves each order's
 * state and timeline (`GET /api/orders/:id`) and each user's history (`GET /api/orders`).
 *
 * Build it with `createService(orderService(), { db, broker, logger })`; it reads no
 * environment.
 */
export function orderService(options: OrderServiceOptions = {}): ServiceDefinition {
  const now = options.now ?? (() => new Date());
  const saga = options.saga ?? foodSaga;
  const tracker = orderTracker(saga);
  return {
    name: 'order',
    description:
      'Accepts orders, emits order_created, and folds every saga outcome into the order’s state.',
    migrations: new URL('../migrations/', import.meta.url),
    consumer: { handlers: outcomeHandlers(saga, tracker) },
    routes: (app, context) => registerOrderRoutes(app, context, { now, tracker }),
  };
}
