import type { FinalEventType } from '../contracts/live.ts';

export type NotificationKind =
  'finished' | 'restaurant_rejected' | 'rider_rejected' | 'payment_rejected';

export interface NotificationContent {
  readonly kind: NotificationKind;
  readonly message: string;
  readonly receiptId?: string;
  readonly reason?: string;
}

/** What a final event's data may carry (validated by its contract before it gets here). */
export interface FinalEventData {
  readonly receiptId?: string;
  readonly amountCents?: number;
  readonly restaurantCancellationReason?: string;
  readonly riderCancellationReason?: string;
  readonly paymentCancellationReason?: string;
}

/** `5230` → `52.30 €`: integer arithmetic, never binary floating point. */
export function formatEuros(cents: number): string {
  const sign = cents < 0 ? '-' : '';
  const absolute = Math.abs(cents);
  return `${sign}${Math.floor(absolute / 100)}.${String(absolute % 100).padStart(2, '0')} €`;
}

/** The notification a user who left gets for a final event. Pure. */
export function notificationFor(type: FinalEventType, data: FinalEventData): NotificationContent {
  switch (type) {
    case 'payment_done':
      return {
        kind: 'finished',
        message:
          data.amountCents === undefined
            ? 'Your order is paid and on its way.'
            : `Your order is paid (${formatEuros(data.amountCents)}) and on its way.`,
        ...(data.receiptId === undefined ? {} : { receiptId: data.receiptId }),
      };
    case 'restaurant_cancelled':
      return rejected('restaurant_rejected', 'the restaurant', data.restaurantCancellationReason);
    case 'rider_cancelled':
      return rejected('rider_rejected', 'no rider', data.riderCancellationReason);
    case 'payment_cancelled':
      return rejected('payment_rejected', 'the payment', data.paymentCancellationReason);
  }
}

function rejected(
  kind: NotificationKind,
  who: string,
  reason: string | undefined,
): NotificationContent {
  const because = reason === undefined ? '' : `: ${reason}`;
  const message =
    who === 'no rider'
      ? `Your order was cancelled: no rider could take it${because}. Nothing was charged.`
      : `Your order was cancelled: ${who} could not go ahead${because}. Nothing was charged.`;
  return { kind, message: message.slice(0, 500), ...(reason === undefined ? {} : { reason }) };
}
