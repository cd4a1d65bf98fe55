import type { HttpApp } from '@cads/http';
import type { RouteContext } from '@cads/service';
import { registerPlaceOrder } from './place-order.ts';
import { registerReadOrders } from './read-orders.ts';

export function registerOrderRoutes(
  app: HttpApp,
  context: RouteContext,
  options: { readonly now: () => Date },
): void {
  registerPlaceOrder(app, context, options);
  registerReadOrders(app, context);
}
