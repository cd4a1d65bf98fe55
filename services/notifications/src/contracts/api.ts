import Type, { type Static } from 'typebox';

/**
 * HTTP contract of the notifications mock: the e-mail / SMS / push provider the BFF calls when a
 * user has left before their order reached its final state.
 *
 * - `POST /api/notifications` stores a notification and answers **201** with it, sent on a
 *   channel the provider picks at random. `eventId` is the idempotency key: the same `eventId`
 *   again answers **200** with the notification stored first (same channel, same `createdAt`,
 *   never a second one), also when the requests race. A repeat that names another order, user
 *   or kind than the stored one is a client bug and answers **409**; the rest of a repeat's body
 *   (message, receiptId, reason) is ignored, the first one wins.
 * - `GET /api/notifications/:orderId` → 200 with the order's notifications, oldest first, or
 *   **404** when the order has none.
 * - `GET /api/notifications?userId=` → 200 with the user's notifications, newest first (an empty
 *   array when there are none); `userId` is required.
 * - Invalid input answers 400 `application/problem+json` naming each invalid field.
 *
 * Everything is JSON. Text (`message`, `reason`, ids) is stored and returned exactly as sent,
 * never rendered or sanitised: a client that displays it must escape it (e.g. set `textContent`,
 * never `innerHTML`).
 */
export const notificationsPath = '/api/notifications';

/**
 * The final outcomes of a saga a user is notified of: `finished`, `<step>_rejected` for the
 * step that refused (any step of the saga's map; the food saga's are listed for clients), or
 * `timed_out` when the saga's deadline passed.
 */
export const notificationKinds = [
  'finished',
  'restaurant_rejected',
  'rider_rejected',
  'payment_rejected',
  'timed_out',
] as const;
export type NotificationKind = 'finished' | 'timed_out' | `${string}_rejected`;
export const NotificationKind = Type.Unsafe<NotificationKind>(
  Type.String({ pattern: '^(finished|timed_out|[a-z][a-z0-9_]*_rejected)$', maxLength: 100 }),
);

/** How the provider delivered a notification (chosen at random by the mock). */
export const notificationChannels = ['email', 'sms', 'push'] as const;
export type NotificationChannel = (typeof notificationChannels)[number];
export const NotificationChannel = Type.Enum(notificationChannels);

export const maxMessageLength = 500;

const Id = Type.String({ minLength: 1, maxLength: 200 });

const requestFields = {
  /** Id of the final saga event this notifies of: the idempotency key. */
  eventId: Id,
  orderId: Id,
  userId: Id,
  kind: NotificationKind,
  /** Plain text shown to the user; never HTML. */
  message: Type.String({ minLength: 1, maxLength: maxMessageLength }),
  /** The payment's receipt, for `finished`. */
  receiptId: Type.Optional(Id),
  /** Why a step rejected the order, for the `*_rejected` kinds. */
  reason: Type.Optional(Type.String({ minLength: 1, maxLength: maxMessageLength })),
};

/** Body of `POST /api/notifications`. Unknown fields are rejected. */
export const SendNotificationRequest = Type.Object(requestFields, {
  additionalProperties: false,
});
export type SendNotificationRequest = Static<typeof SendNotificationRequest>;

/** A stored notification: the request as sent, plus how and when it was sent. */
export const Notification = Type.Object(
  {
    ...requestFields,
    channel: NotificationChannel,
    /** ISO 8601 (UTC) time the notification was first stored. */
    createdAt: Type.String({ format: 'date-time' }),
  },
  { additionalProperties: false },
);
export type Notification = Static<typeof Notification>;

/** Answer of both GET routes. */
export const NotificationList = Type.Array(Notification);
export type NotificationList = Static<typeof NotificationList>;

/** Path parameters of `GET /api/notifications/:orderId`. */
export const OrderNotificationsParams = Type.Object(
  { orderId: Id },
  { additionalProperties: false },
);
export type OrderNotificationsParams = Static<typeof OrderNotificationsParams>;

export const defaultListLimit = 100;
export const maxListLimit = 500;

/** Query of `GET /api/notifications`: whose notifications, and at most how many (newest). */
export const UserNotificationsQuery = Type.Object(
  {
    userId: Id,
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: maxListLimit })),
  },
  { additionalProperties: false },
);
export type UserNotificationsQuery = Static<typeof UserNotificationsQuery>;
