import type { ServiceDefinition } from '@cads/service';
import { outcomeHandlers } from './handlers/on-outcome.ts';
import { registerOrderRoutes } from './http/routes/register-order-routes.ts';

export interface OrderServiceOptions {
  /** The clock stamping new orders and their `order_created`. Default: the system clock. */
  readonly now?: () => Date;
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
  return {
    name: 'order',
    description:
      'Accepts orders, emits order_created, and folds every saga outcome into the order’s state.',
    migrations: new URL('../migrations/', import.meta.url),
    consumer: { handlers: outcomeHandlers },
    routes: (app, context) => registerOrderRoutes(app, context, { now }),
  };
}
