/**
 * The notification a user who left gets for the event that ended their order's saga. Every
 * final event of the map is one of three outcomes: the saga completed, one step refused, or
 * the saga's deadline passed.
 */

/**
 * `finished`, `<step>_rejected` for the step that refused (the seed's kinds for food), or
 * `timed_out`.
 */
export type NotificationKind = 'finished' | 'timed_out' | `${string}_rejected`;

export interface NotificationContent {
  readonly kind: NotificationKind;
  readonly message: string;
  readonly receiptId?: string;
  readonly reason?: string;
}

/** How a saga ended, as the map and the final event's data say. */
export type FinalOutcome =
  | {
      readonly outcome: 'completed';
      readonly receiptId?: string;
      readonly amountCents?: number;
    }
  | {
      readonly outcome: 'failed';
      /** The step that refused, as the map names it, and its human name. */
      readonly step: string;
      readonly label: string;
      /** The failure event's reason field, when it carries one. */
      readonly reason?: string;
    }
  | {
      readonly outcome: 'timed_out';
      readonly reason?: string;
    };

/** The notifications provider refuses longer messages. */
export const maxMessageLength = 500;

/**
 * The food saga's own wording for its steps' refusals; any other step (a saga composed with
 * more) gets the generic one, built from its label.
 */
const foodRefusals: Readonly<Record<string, (because: string) => string>> = {
  restaurant: (because) =>
    `Your order was cancelled: the restaurant could not go ahead${because}. Nothing was charged.`,
  rider: (because) =>
    `Your order was cancelled: no rider could take it${because}. Nothing was charged.`,
  payment: (because) =>
    `Your order was cancelled: the payment could not go ahead${because}. Nothing was charged.`,
};

/** `5230` → `52.30 €`: integer arithmetic, never binary floating point. */
export function formatEuros(cents: number): string {
  const sign = cents < 0 ? '-' : '';
  const absolute = Math.abs(cents);
  return `${sign}${Math.floor(absolute / 100)}.${String(absolute % 100).padStart(2, '0')} €`;
}

/** The notification for a final outcome. Pure. */
export function notificationFor(final: FinalOutcome): NotificationContent {
  if (final.outcome === 'completed') {
    return {
      kind: 'finished',
      message:
        final.amountCents === undefined
          ? 'Your order is complete and on its way.'
          : `Your order is paid (${formatEuros(final.amountCents)}) and on its way.`,
      ...(final.receiptId === undefined ? {} : { receiptId: final.receiptId }),
    };
  }
  if (final.outcome === 'timed_out') {
    return {
      kind: 'timed_out',
      message:
        'Your order was cancelled: it could not be completed in time. Anything charged is refunded.',
      ...(final.reason === undefined ? {} : { reason: final.reason.slice(0, maxMessageLength) }),
    };
  }
  const { step, label, reason } = final;
  const because = reason === undefined ? '' : `: ${reason}`;
  const message = foodRefusals[step]?.(because) ?? `Your order was cancelled: ${label}${because}.`;
  return {
    kind: `${step}_rejected`,
    message: message.slice(0, maxMessageLength),
    ...(reason === undefined ? {} : { reason: reason.slice(0, maxMessageLength) }),
  };
}
