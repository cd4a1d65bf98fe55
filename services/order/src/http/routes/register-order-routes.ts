import type { HttpApp, ServiceTokenCheck } from '@cads/http';
import type { RouteContext, SagaDeadlines } from '@cads/service';
import type { OrderTracker } from '../../domain/order-state.ts';
import { registerPlaceOrder } from './place-order.ts';
import { registerReadOrders } from './read-orders.ts';

export function registerOrderRoutes(
  app: HttpApp,
  context: RouteContext,
  options: {
    readonly now: () => Date;
    readonly tracker: OrderTracker;
    readonly deadlines: SagaDeadlines | undefined;
    readonly callers: ServiceTokenCheck;
  },
): void {
  registerPlaceOrder(app, context, options);
  registerReadOrders(app, context, options);
}
