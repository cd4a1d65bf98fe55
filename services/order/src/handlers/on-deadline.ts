import type { Message } from '@cads/messaging';
import type { SagaMap } from '@cads/saga';
import type { Transaction } from '@cads/storage';
import { sql } from '@cads/storage';
import type { OrderTracker } from '../domain/order-state.ts';
import { recordOrderEvent } from '../store/order-events.ts';
import { updateOrderStatus } from '../store/orders.ts';

/**
 * The tracker's side of an order's deadline (`sagaDeadlines` calls it in the firing
 * transaction): an order that has not ended records the deadline event on its timeline, naming
 * the step it was waiting on (the map's `waitingOnField`), and is failed by the fold; the event
 * is returned to be emitted. An order that ended (or is unknown) is left alone: `undefined`.
 *
 * Guarantee: decided under the order's row lock, the lock every recorded outcome takes, so a
 * final event being recorded at the same moment either comes first (nothing fires) or after
 * (it is late: the fold keeps the order failed, and the steps undo it).
 */
export async function expireOrder(
  tx: Transaction,
  event: Message,
  saga: SagaMap,
  tracker: OrderTracker,
): Promise<Message | undefined> {
  const { orderId, userId } = event.data as Readonly<Record<string, unknown>>;
  if (typeof orderId !== 'string' || typeof userId !== 'string') return undefined;
  const { rows } = await tx.query<{ status: number }>(
    sql`select status from orders where order_id = ${orderId} for update`,
  );
  const status = rows[0]?.status;
  if (status === undefined || tracker.isFinal(status)) return undefined;
  const { rows: known } = await tx.query<{ type: string }>(
    sql`select type from order_events where order_id = ${orderId}`,
  );
  const waitingOn = saga
    .verdict(known.map((row) => row.type))
    .steps.find((step) => step.state === 'pending')?.name;
  const field = saga.deadline?.waitingOnField;
  const data = {
    ...(event.data as Record<string, unknown>),
    ...(field !== undefined && waitingOn !== undefined ? { [field]: waitingOn } : {}),
  };
  const expired = { ...event, data };
  const recording = await recordOrderEvent(tx, {
    orderId,
    userId,
    id: event.id,
    type: event.type,
    time: event.time,
    data,
  });
  if (!recording?.recorded) return undefined;
  const folded = tracker.fold(recording.order, recording.events);
  if (folded.status !== recording.order.status) {
    await updateOrderStatus(tx, orderId, folded.status);
  }
  return expired;
}
