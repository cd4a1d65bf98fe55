import { type HandlerDefinition, on, TerminalError, UnavailableError } from '@cads/consumer';
import { callExternal, isExternalOutage, type ServiceCredentials } from '@cads/http';
import type { Message } from '@cads/messaging';
import type { SagaMap } from '@cads/saga';
import { sql } from '@cads/storage';
import { type FinalOutcome, notificationFor } from '../domain/notification-text.ts';
import type { PresenceRegistry } from '../presence/presence-registry.ts';

export interface FinalEventOptions {
  readonly saga: SagaMap;
  readonly presence: PresenceRegistry;
  readonly notificationsUrl: string;
  /** Signs the BFF's calls to the notifications service. */
  readonly credentials: ServiceCredentials;
}

interface Decision {
  readonly notified: boolean;
}

type FinalData = Readonly<Record<string, unknown>>;

/**
 * The offline decision, made once per final event by the BFF's competing consumer group
 * (whichever instance gets the event): if the user has no live connection to that order on any
 * instance, the notifications provider gets one notification, keyed by the event id.
 *
 * The final events are the map's (`finalEvents`: the completion, each step's failure and the
 * deadline's event), each
 * validated against the schema the map holds for its type, so a saga composed with more steps
 * notifies its new steps' refusals too.
 *
 * Guarantees: one notification per order, for its first final event (a later one, such as a
 * success that arrived after the deadline, is recorded and not notified; two final events of
 * one order decided at the same moment on two instances are the one case left); the call
 * carries the event id as idempotency key, so a redelivery, a crash after the call or two
 * instances racing on one event never notify twice; a user watching the order is not
 * notified; an unreachable provider (no answer, 5xx) is an outage: the event waits behind the
 * consumer's circuit breaker until the provider is back (for the outage budget), nothing is lost,
 * and so does one that refuses the BFF's credential (401: a secret not rolled out everywhere);
 * a provider that refuses the notification (4xx) dead-letters the event with its answer.
 */
export function finalEventHandlers(
  options: FinalEventOptions,
): Readonly<Record<string, HandlerDefinition>> {
  const { saga } = options;
  const handler = (outcomeOf: (data: FinalData) => FinalOutcome, schema: SagaEventSchema) =>
    on(
      schema,
      async (message: Message<unknown>, { tx }, decision: Decision) => {
        const { orderId, userId } = orderOf(message);
        await tx.query(
          sql`insert into bff_final_events (event_id, order_id, user_id, type, notified)
              values (${message.id}, ${orderId}, ${userId}, ${message.type}, ${decision.notified})
              on conflict (event_id) do nothing`,
        );
      },
      async (message: Message<unknown>, { db }): Promise<Decision> => {
        const { orderId, userId, data } = orderOf(message);
        // The first final event of an order decides: a late one (a success after the deadline,
        // which the steps undo) never notifies a second time.
        const { rowCount } = await db.query(
          sql`select 1 from bff_final_events where order_id = ${orderId} and event_id <> ${message.id} limit 1`,
        );
        if (rowCount > 0) return { notified: false };
        if (await options.presence.isOnline(userId, orderId, message.id)) {
          return { notified: false };
        }
        const content = notificationFor(outcomeOf(data));
        const result = await callExternal({
          method: 'POST',
          url: `${options.notificationsUrl}/api/notifications`,
          idempotencyKey: message.id,
          system: 'notifications provider',
          body: { eventId: message.id, orderId, userId, ...content },
          authorization: () => options.credentials.authorization('notifications'),
        });
        if (result.ok) return { notified: true };
        if (isExternalOutage(result)) {
          throw new UnavailableError(
            'notifications provider',
            `notification not sent: ${result.reason}`,
          );
        }
        throw new TerminalError(
          `notifications provider refused (${result.status}): ${result.reason}`,
        );
      },
    ) as HandlerDefinition;

  return Object.fromEntries(
    saga.finalEvents.map((final) => {
      const event = saga.event(final.type);
      const step = saga.step(final.step);
      if (!event || !step) {
        throw new Error(`saga ${saga.name}: final event ${final.type} is not in its map`);
      }
      const outcomeOf = (data: FinalData): FinalOutcome => {
        if (final.outcome === 'timed_out') {
          const reason = text(data[final.reasonField ?? '']);
          return { outcome: 'timed_out', ...(reason === undefined ? {} : { reason }) };
        }
        if (final.outcome === 'failed') {
          const reason = text(data[step.failure.reasonField]);
          return {
            outcome: 'failed',
            step: step.name,
            label: step.label,
            ...(reason === undefined ? {} : { reason }),
          };
        }
        const receiptId = text(data.receiptId);
        const amountCents = integer(data.amountCents);
        return {
          outcome: 'completed',
          ...(receiptId === undefined ? {} : { receiptId }),
          ...(amountCents === undefined ? {} : { amountCents }),
        };
      };
      return [final.type, handler(outcomeOf, event.schema)];
    }),
  );
}

type SagaEventSchema = NonNullable<ReturnType<SagaMap['event']>>['schema'];

/** The order and user a final event names; its schema was checked, these fields are the saga's. */
function orderOf(message: Message<unknown>): {
  orderId: string;
  userId: string;
  data: FinalData;
} {
  const data: FinalData = isRecord(message.data) ? message.data : {};
  const { orderId, userId } = data;
  if (typeof orderId !== 'string' || typeof userId !== 'string') {
    throw new TerminalError(`${message.type} ${message.id}: no orderId and userId in its data`);
  }
  return { orderId, userId, data };
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function integer(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) ? value : undefined;
}

function isRecord(value: unknown): value is FinalData {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
