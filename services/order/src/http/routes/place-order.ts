import {
  type HttpApp,
  httpProblem,
  ProblemDetailsSchema,
  type ServiceTokenCheck,
} from '@cads/http';
import type { RouteContext, SagaDeadlines } from '@cads/service';
import { v7 as uuidv7 } from 'uuid';
import { insertOrder } from '../../store/orders.ts';
import { checkCart, describeCartErrors } from '../check-cart.ts';
import { orderCreatedMessage, sagaTraceparent } from '../order-created.ts';
import { OrderAccepted, PlaceOrderBody } from '../../contracts/api.ts';

export interface PlaceOrderOptions {
  readonly now: () => Date;
  /** The saga's deadlines, armed with each order (none: orders never time out). */
  readonly deadlines: SagaDeadlines | undefined;
  /** Who may call (`orderServiceCallers`); the orderer is the user the token acts for. */
  readonly callers: ServiceTokenCheck;
}

/**
 * `POST /api/orders`: accepts an order and starts its saga.
 *
 * Guarantee: the order row, its timeline's first entry, its deadline and `order_created` in the
 * outbox commit in one transaction (no dual write): a 202 means the event will be published
 * and the deadline will fire unless the order ends first, even if the process dies right after
 * answering; a failure before the commit leaves nothing behind.
 */
export function registerPlaceOrder(
  app: HttpApp,
  { db, outbox }: RouteContext,
  { now, deadlines, callers }: PlaceOrderOptions,
): void {
  app.post(
    '/api/orders',
    {
      onRequest: callers.onRequest,
      schema: {
        tags: ['orders'],
        summary: 'Place an order',
        operationId: 'placeOrder',
        security: [{ serviceToken: [] }],
        description:
          'Validates the cart against the catalogue, stores the order and emits order_created. ' +
          'The orderer is the user the service token acts for (the BFF’s session user).',
        body: PlaceOrderBody,
        response: {
          202: OrderAccepted,
          400: ProblemDetailsSchema,
          401: ProblemDetailsSchema,
          403: ProblemDetailsSchema,
        },
      },
    },
    async (request, reply) => {
      const userId = callers.callerOf(request).userId;
      if (userId === undefined) {
        throw httpProblem('CADS_FORBIDDEN', 'Only a caller acting for a user places orders.');
      }
      const { restaurantId, cart } = request.body;
      const checked = checkCart(restaurantId, cart);
      if ('errors' in checked) {
        throw httpProblem('CADS_VALIDATION', describeCartErrors(checked.errors), {
          errors: checked.errors,
        });
      }
      const orderId = uuidv7();
      const createdAt = now();
      const traceparent = request.headers.traceparent;
      const message = orderCreatedMessage(
        { orderId, userId, restaurantId, cart },
        createdAt,
        sagaTraceparent(typeof traceparent === 'string' ? traceparent : undefined),
      );
      await db.transaction(async (tx) => {
        await insertOrder(
          tx,
          {
            orderId,
            userId,
            restaurantId,
            cart,
            priceCents: checked.priceCents,
            status: 0,
            createdAt,
          },
          { id: message.id, type: message.type, time: message.time, data: message.data },
        );
        await deadlines?.arm(tx, {
          sagaId: orderId,
          startedAt: createdAt,
          carried: { userId, status: 5 },
          ...(message.correlationid === undefined ? {} : { correlationid: message.correlationid }),
          ...(message.traceparent === undefined ? {} : { traceparent: message.traceparent }),
        });
        await outbox.enqueue(tx, [message]);
      });
      outbox.committed();
      request.log.info({ orderId, userId, messageId: message.id }, 'order accepted');
      return reply.code(202).send({ orderId, userId });
    },
  );
}
