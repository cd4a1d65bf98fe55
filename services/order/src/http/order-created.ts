import { randomBytes } from 'node:crypto';
import { childTraceparent } from '@cads/consumer';
import { createMessage, type Message } from '@cads/messaging';
import type { OrderCreated } from '@cads/order/contracts';

export const orderSource = '/cads/order';
export const orderCreatedSchema = 'urn:cads:event:order_created:1';

const traceparentPattern = /^[0-9a-f]{2}-(?!0{32})[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

/**
 * The W3C trace context of a new saga: a child span of the caller's trace when it sent a valid
 * `traceparent` (the BFF may), else a new sampled trace.
 */
export function sagaTraceparent(incoming: string | undefined): string {
  if (incoming !== undefined && traceparentPattern.test(incoming)) {
    return childTraceparent(incoming);
  }
  return `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;
}

/**
 * The `order_created` event that starts the saga: subject = order id (the partition key every
 * later event keeps), correlation id `{userId}-{orderId}` as in the seed.
 */
export function orderCreatedMessage(
  order: Omit<OrderCreated, 'status'>,
  time: Date,
  traceparent: string,
): Message<OrderCreated> {
  return createMessage<OrderCreated>({
    type: 'order_created',
    source: orderSource,
    subject: order.orderId,
    time,
    dataschema: orderCreatedSchema,
    correlationid: `${order.userId}-${order.orderId}`,
    traceparent,
    data: {
      orderId: order.orderId,
      userId: order.userId,
      restaurantId: order.restaurantId,
      cart: order.cart,
      status: 0,
    },
  });
}
