import { type HandlerContext, type HandlerDefinition, on, TerminalError } from '@cads/consumer';
import type { Message } from '@cads/messaging';
import type { SagaMap } from '@cads/saga';
import type { SagaDeadlines } from '@cads/service';
import type { OrderTracker } from '../domain/order-state.ts';
import { recordOrderEvent } from '../store/order-events.ts';
import { updateOrderStatus } from '../store/orders.ts';

/**
 * Records one outcome event on the order's timeline and recomputes the order's status from
 * the set of its events, in the consumer's transaction (so exactly once per event id); an
 * order that has ended is `ended` in that transaction too (its deadline disarmed).
 *
 * Guarantees:
 * - The status is the tracker's fold of every recorded event, whatever order they arrived in:
 *   the order's row is locked before the event is recorded and the events are read, so two
 *   events of one order never recompute concurrently, even on two instances.
 * - A second copy of an event (same id) is absorbed by the inbox and by the timeline's key;
 *   a copy under a new id is audited but changes neither the status nor the view.
 * - An event for an order this service never accepted, whose subject is not its order, or
 *   whose user is not the order's, is a `TerminalError` → dead letters, where an operator can
 *   inspect and redrive it. Order ids are minted here and written in the same transaction as
 *   `order_created`, which causes every outcome, so such an event is a bug or a forgery, never
 *   a race; storing it blindly would hide it and keep rows no order owns.
 */
export async function recordOutcome(
  message: Message<unknown>,
  { tx }: HandlerContext,
  tracker: OrderTracker,
  ended?: (tx: HandlerContext['tx'], orderId: string) => Promise<void>,
): Promise<void> {
  const data = isRecord(message.data) ? message.data : {};
  const { orderId, userId } = data;
  if (typeof orderId !== 'string' || typeof userId !== 'string') {
    throw new TerminalError(`${message.type} ${message.id}: no orderId and userId in its data`);
  }
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
    data,
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
  const { status } = tracker.fold(order, recording.events);
  if (status !== order.status) await updateOrderStatus(tx, orderId, status);
  if (ended && tracker.isFinal(status)) await ended(tx, orderId);
}

function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * One handler per event the map says the saga's tracker (the start event's producer) consumes:
 * every step's success, failure and compensation. Each validates its payload against the
 * schema the map holds for its type (the producer's contract) before `recordOutcome` runs.
 */
export function outcomeHandlers(
  saga: SagaMap,
  tracker: OrderTracker,
  deadlines?: SagaDeadlines,
): Readonly<Record<string, HandlerDefinition>> {
  // The order's end disarms its deadline, in the transaction that records it.
  const ended =
    deadlines && ((tx: HandlerContext['tx'], orderId: string) => deadlines.disarm(tx, orderId));
  return Object.fromEntries(
    saga.consumedBy(saga.start.producer).map((type) => {
      const event = saga.event(type);
      if (!event) throw new Error(`saga ${saga.name} lists ${type} but does not declare it`);
      return [
        type,
        on(event.schema, (message, context) => recordOutcome(message, context, tracker, ended)),
      ];
    }),
  );
}
