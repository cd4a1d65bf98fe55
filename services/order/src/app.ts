import { foodSaga } from '@cads/food-saga';
import { serviceTokenCheck } from '@cads/http';
import type { SagaMap } from '@cads/saga';
import { installSagaDeadlineTables, sagaDeadlines, type ServiceDefinition } from '@cads/service';
import { expireOrder } from './handlers/on-deadline.ts';
import { outcomeHandlers } from './handlers/on-outcome.ts';
import { orderSource } from './http/order-created.ts';
import { registerOrderRoutes } from './http/routes/register-order-routes.ts';
import { orderServiceCallers } from './contracts/api.ts';
import { orderTracker } from './order-tracker.ts';

export interface OrderServiceOptions {
  /** The deployment's internal secret: verifies the service tokens of its callers. */
  readonly internalSecret: string;
  /** The clock stamping new orders and their `order_created`. Default: the system clock. */
  readonly now?: () => Date;
  /**
   * The saga this service starts and tracks. Default: the food saga. Any map composed from it
   * (more steps) works unchanged: what to consume, how to fold it and what to show all come
   * from the map.
   */
  readonly saga?: SagaMap;
  /**
   * How long an order has to end before it is failed as timed out. Default: the saga's
   * deadline (10 minutes for the food saga). Ignored for a saga without one.
   */
  readonly deadlineMs?: number;
  /** How often due deadlines are looked for. Default 1 s. */
  readonly deadlinePollMs?: number;
}

/**
 * The order service: mints order ids, accepts orders (`POST /api/orders`) and starts their
 * saga with `order_created`, consumes every outcome event of the saga and serves each order's
 * state and timeline (`GET /api/orders/:id`) and each user's history (`GET /api/orders`).
 *
 * Build it with `createService(orderService({ internalSecret }), { db, broker, logger })`; it reads no
 * environment.
 */
export function orderService(options: OrderServiceOptions): ServiceDefinition {
  const now = options.now ?? (() => new Date());
  const saga = options.saga ?? foodSaga;
  const tracker = orderTracker(saga);
  const callers = serviceTokenCheck({
    secret: options.internalSecret,
    audience: 'order',
    callers: orderServiceCallers,
  });
  const deadlines = saga.deadline
    ? sagaDeadlines(saga, {
        source: orderSource,
        now: () => now().getTime(),
        ...(options.deadlineMs === undefined ? {} : { afterMs: options.deadlineMs }),
        ...(options.deadlinePollMs === undefined ? {} : { pollMs: options.deadlinePollMs }),
      })
    : undefined;
  return {
    name: 'order',
    description:
      'Accepts orders, emits order_created, folds every saga outcome into the order’s state, and fails an order that has not ended by its deadline.',
    migrations: new URL('../migrations/', import.meta.url),
    runtimeTables: [installSagaDeadlineTables],
    consumer: { handlers: outcomeHandlers(saga, tracker, deadlines) },
    routes: (app, context) =>
      registerOrderRoutes(app, context, { now, tracker, deadlines, callers }),
    ...(deadlines
      ? {
          run: (context) =>
            Promise.resolve(
              deadlines.start(context, (tx, event) => expireOrder(tx, event, saga, tracker)),
            ),
        }
      : {}),
  };
}
