import { type HandlerContext, type HandlerDefinition, on, TerminalError } from '@cads/consumer';
import type { Message } from '@cads/messaging';
import { paymentEvents } from '@cads/payment/contracts';
import { restaurantEvents } from '@cads/restaurant/contracts';
import { riderEvents } from '@cads/rider/contracts';
import { foldOrder, type OutcomeType } from '../domain/order-state.ts';
import { recordOrderEvent } from '../store/order-events.ts';
import { updateOrderStatus } from '../store/orders.ts';

/** What every outcome event carries, whatever its step (a type, so it is a plain record). */
type OutcomeData = { readonly orderId: string; readonly userId: string };

/**
 * Records one outcome event on the order's timeline and recomputes the order's status from
 * the set of its events, in the consumer's transaction (so exactly once per event id).
 *
 * Guarantees:
 * - The status is `foldOrder` of every recorded event, whatever order they arrived in: the
 *   order's row is locked before the event is recorded and the events are read, so two events
 *   of one order never recompute concurrently, even on two instances.
 * - A second copy of an event (same id) is absorbed by the inbox and by the timeline's key;
 *   a copy under a new id is audited but changes neither the status nor the view.
 * - An event for an order this service never accepted, whose subject is not its order, or
 *   whose user is not the order's, is a `TerminalError` → dead letters, where an operator can
 *   inspect and redrive it. Order ids are minted here and written in the same transaction as
 *   `order_created`, which causes every outcome, so such an event is a bug or a forgery, never
 *   a race; storing it blindly would hide it and keep rows no order owns.
 */
export async function recordOutcome(
  message: Message<OutcomeData>,
  { tx }: HandlerContext,
): Promise<void> {
  const { orderId, userId } = message.data;
  if (message.subject !== orderId) {
    throw new TerminalError(
      `${message.type} ${message.id}: subject ${message.subject} is not its order ${orderId}`,
    );
  }
  const recording = await recordOrderEvent(tx, {
    orderId,
    userId,
    id: message.id,
    type: message.type,
    time: message.time,
    data: message.data,
  });
  if (!recording) {
    throw new TerminalError(`${message.type} ${message.id}: unknown order ${orderId}`);
  }
  const { order } = recording;
  if (order.userId !== userId) {
    throw new TerminalError(
      `${message.type} ${message.id}: order ${orderId} belongs to another user than ${userId}`,
    );
  }
  if (!recording.recorded) return;
  const { status } = foldOrder(order, recording.events);
  if (status !== order.status) await updateOrderStatus(tx, orderId, status);
}

const outcomeSchemas = { ...restaurantEvents, ...riderEvents, ...paymentEvents };

/** One handler per outcome event of the saga, each validating its payload by contract. */
export const outcomeHandlers: Readonly<Record<OutcomeType, HandlerDefinition>> = {
  restaurant_reserved: on(outcomeSchemas.restaurant_reserved, recordOutcome),
  restaurant_cancelled: on(outcomeSchemas.restaurant_cancelled, recordOutcome),
  restaurant_compensated: on(outcomeSchemas.restaurant_compensated, recordOutcome),
  rider_assigned: on(outcomeSchemas.rider_assigned, recordOutcome),
  rider_cancelled: on(outcomeSchemas.rider_cancelled, recordOutcome),
  rider_compensated: on(outcomeSchemas.rider_compensated, recordOutcome),
  payment_done: on(outcomeSchemas.payment_done, recordOutcome),
  payment_cancelled: on(outcomeSchemas.payment_cancelled, recordOutcome),
};
