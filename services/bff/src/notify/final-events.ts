import { type HandlerDefinition, on, TerminalError, UnavailableError } from '@cads/consumer';
import { callExternal } from '@cads/http';
import { paymentEvents } from '@cads/payment/contracts';
import { restaurantEvents } from '@cads/restaurant/contracts';
import { riderEvents } from '@cads/rider/contracts';
import { sql } from '@cads/storage';
import type { FinalEventType } from '../contracts/live.ts';
import { notificationFor } from '../domain/notification-text.ts';
import type { PresenceRegistry } from '../presence/presence-registry.ts';

export interface FinalEventOptions {
  readonly presence: PresenceRegistry;
  readonly notificationsUrl: string;
}

const finalSchemas = {
  payment_done: paymentEvents.payment_done,
  restaurant_cancelled: restaurantEvents.restaurant_cancelled,
  rider_cancelled: riderEvents.rider_cancelled,
  payment_cancelled: paymentEvents.payment_cancelled,
} as const;

interface Decision {
  readonly notified: boolean;
}

/**
 * The offline decision, made once per final event by the BFF's competing consumer group
 * (whichever instance gets the event): if the user has no live connection to that order on any
 * instance, the notifications provider gets one notification, keyed by the event id.
 *
 * Guarantees: the call carries the event id as idempotency key, so a redelivery, a crash after
 * the call or two instances racing never notify twice; a user watching the order is not
 * notified; an unreachable provider (no answer, 5xx) is an outage: the event waits behind the
 * consumer's circuit breaker until the provider is back (for the outage budget), nothing is lost;
 * a provider that refuses the notification (4xx) dead-letters the event with its answer.
 */
export function finalEventHandlers(
  options: FinalEventOptions,
): Record<FinalEventType, HandlerDefinition> {
  const handler = (type: FinalEventType) =>
    on(
      finalSchemas[type],
      async (message, { tx }, decision: Decision) => {
        await tx.query(
          sql`insert into bff_final_events (event_id, order_id, user_id, type, notified)
              values (${message.id}, ${message.data.orderId}, ${message.data.userId},
                      ${message.type}, ${decision.notified})
              on conflict (event_id) do nothing`,
        );
      },
      async (message): Promise<Decision> => {
        const { orderId, userId } = message.data;
        if (await options.presence.isOnline(userId, orderId, message.id)) {
          return { notified: false };
        }
        const content = notificationFor(type, message.data);
        const result = await callExternal({
          method: 'POST',
          url: `${options.notificationsUrl}/api/notifications`,
          idempotencyKey: message.id,
          system: 'notifications provider',
          body: { eventId: message.id, orderId, userId, ...content },
        });
        if (result.ok) return { notified: true };
        if (result.status === undefined || result.status >= 500) {
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
  return {
    payment_done: handler('payment_done'),
    restaurant_cancelled: handler('restaurant_cancelled'),
    rider_cancelled: handler('rider_cancelled'),
    payment_cancelled: handler('payment_cancelled'),
  };
}
