import {
  type HttpApp,
  httpProblem,
  ProblemDetailsSchema,
  type ServiceTokenCheck,
} from '@cads/http';
import type { RouteContext } from '@cads/service';
import { type OrderStatus, type OrderTracker, statusText } from '../../domain/order-state.ts';
import { listOrderEvents } from '../../store/order-events.ts';
import { findOrder, listOrdersOfUser, type StoredOrder } from '../../store/orders.ts';
import { HistoryQuery, OrderHistory, OrderParams, OrderView } from '../../contracts/api.ts';

const defaultHistoryLimit = 50;

/** Stored statuses are written only by the tracker's fold, so anything else is a corrupt row. */
function knownStatus(order: StoredOrder): OrderStatus {
  const { status } = order;
  if (status === 0 || status === 1 || status === 2 || status === 5) return status;
  throw new Error(`order ${order.orderId} has an unknown status ${status}`);
}

/**
 * `GET /api/orders/:id` (state and timeline, folded from the events at read time, so it is
 * never behind the events recorded) and `GET /api/orders?userId=` (history, newest first).
 */
export function registerReadOrders(
  app: HttpApp,
  { db }: RouteContext,
  { tracker, callers }: { readonly tracker: OrderTracker; readonly callers: ServiceTokenCheck },
): void {
  app.get(
    '/api/orders/:id',
    {
      onRequest: callers.onRequest,
      schema: {
        tags: ['orders'],
        summary: 'An order: its state and the timeline of every saga event',
        operationId: 'getOrder',
        security: [{ serviceToken: [] }],
        description:
          'For a token acting for a user, an order of another user is answered 404, like a ' +
          'missing one, so ids of others’ orders cannot be probed.',
        params: OrderParams,
        response: { 200: OrderView, 401: ProblemDetailsSchema, 404: ProblemDetailsSchema },
      },
    },
    async (request) => {
      const orderId = request.params.id;
      const viewer = callers.callerOf(request).userId;
      const order = await findOrder(db, orderId);
      if (!order || (viewer !== undefined && viewer !== order.userId)) {
        throw httpProblem('CADS_NOT_FOUND', `There is no order ${orderId}.`);
      }
      const state = tracker.fold(order, await listOrderEvents(db, orderId));
      return {
        orderId: order.orderId,
        userId: order.userId,
        restaurantId: order.restaurantId,
        cart: order.cart,
        createdAt: order.createdAt.toISOString(),
        ...state,
        compensated: [...state.compensated],
        steps: [...state.steps],
        shown: [...state.shown],
        timeline: [...state.timeline],
      };
    },
  );

  app.get(
    '/api/orders',
    {
      onRequest: callers.onRequest,
      schema: {
        tags: ['orders'],
        summary: "A user's orders, newest first",
        operationId: 'listOrders',
        security: [{ serviceToken: [] }],
        description: 'For a token acting for a user, userId must be that user.',
        querystring: HistoryQuery,
        response: {
          200: OrderHistory,
          400: ProblemDetailsSchema,
          401: ProblemDetailsSchema,
          403: ProblemDetailsSchema,
        },
      },
    },
    async (request) => {
      const { userId, limit } = request.query;
      const viewer = callers.callerOf(request).userId;
      if (viewer !== undefined && viewer !== userId) {
        throw httpProblem('CADS_FORBIDDEN', 'Only your own orders can be listed.');
      }
      const orders = await listOrdersOfUser(db, userId, limit ?? defaultHistoryLimit);
      return {
        userId,
        orders: orders.map((order) => {
          const status = knownStatus(order);
          return {
            orderId: order.orderId,
            restaurantId: order.restaurantId,
            status,
            statusText: statusText[status],
            priceCents: order.priceCents,
            createdAt: order.createdAt.toISOString(),
          };
        }),
      };
    },
  );
}
