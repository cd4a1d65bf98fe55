import Type, { type Static } from 'typebox';
import { Cart, Id } from './events.ts';

/**
 * HTTP contract of the order service, for the BFF (its only public client) and operators.
 * Responses are JSON; errors are `application/problem+json`.
 */

/**
 * The authenticated user, set by the BFF from its session. The order service is never exposed
 * publicly: only the BFF (and operators) reach it, so this header is trusted as-is.
 */
export const userIdHeader = 'x-user-id';

/** Required on `POST /api/orders`: the orderer. */
export const UserHeaders = Type.Object({ [userIdHeader]: Id });

/** Optional on reads: when the BFF sets it, only that user's orders are visible. */
export const OptionalUserHeaders = Type.Object({ [userIdHeader]: Type.Optional(Id) });

export const PlaceOrderBody = Type.Object(
  {
    restaurantId: Id,
    cart: Cart,
  },
  { additionalProperties: false },
);

export const OrderAccepted = Type.Object({
  orderId: Id,
  userId: Id,
});

export const OrderParams = Type.Object({ id: Id });

export const HistoryQuery = Type.Object({
  userId: Id,
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 50 })),
});

const Status = Type.Union([Type.Literal(0), Type.Literal(1), Type.Literal(2), Type.Literal(5)], {
  description: '0 created, 1 updated, 2 completed, 5 cancelled (seed codes).',
});
const StatusText = Type.Union([
  Type.Literal('created'),
  Type.Literal('updated'),
  Type.Literal('completed'),
  Type.Literal('cancelled'),
]);
const Step = Type.Union([
  Type.Literal('restaurant'),
  Type.Literal('rider'),
  Type.Literal('payment'),
]);

export const TimelineEntry = Type.Object({
  id: Type.String({ description: 'The event’s envelope id (unique; the live stream’s event id).' }),
  type: Type.String(),
  time: Type.String({ format: 'date-time' }),
  data: Type.Object({}, { additionalProperties: true, description: 'The event payload as sent.' }),
});

export const OrderView = Type.Object({
  orderId: Id,
  userId: Id,
  restaurantId: Id,
  cart: Cart,
  status: Status,
  statusText: StatusText,
  priceCents: Type.Integer({ minimum: 0 }),
  createdAt: Type.String({ format: 'date-time' }),
  restaurantPhone: Type.Optional(Type.String()),
  restaurantAddress: Type.Optional(Type.String()),
  riderId: Type.Optional(Type.String()),
  riderName: Type.Optional(Type.String()),
  riderPhone: Type.Optional(Type.String()),
  receiptId: Type.Optional(Type.String()),
  amountCents: Type.Optional(Type.Integer({ minimum: 0 })),
  rejection: Type.Optional(
    Type.Object({ step: Step, reason: Type.String() }, { description: 'Which step rejected it.' }),
  ),
  compensated: Type.Array(Type.Union([Type.Literal('restaurant'), Type.Literal('rider')])),
  timeline: Type.Array(TimelineEntry, { description: 'Every saga event, sorted by time.' }),
});

export const OrderSummary = Type.Object({
  orderId: Id,
  restaurantId: Id,
  status: Status,
  statusText: StatusText,
  priceCents: Type.Integer({ minimum: 0 }),
  createdAt: Type.String({ format: 'date-time' }),
});

export const OrderHistory = Type.Object({
  userId: Id,
  orders: Type.Array(OrderSummary, { description: 'Newest first.' }),
});

export type PlaceOrderBody = Static<typeof PlaceOrderBody>;
export type OrderAccepted = Static<typeof OrderAccepted>;
export type TimelineEntry = Static<typeof TimelineEntry>;
export type OrderView = Static<typeof OrderView>;
export type OrderSummary = Static<typeof OrderSummary>;
export type OrderHistory = Static<typeof OrderHistory>;
