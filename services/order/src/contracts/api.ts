import Type, { type Static } from 'typebox';
import { Cart, Id } from './events.ts';

/**
 * HTTP contract of the order service, for the BFF (its only public client) and operators.
 * Responses are JSON; errors are `application/problem+json`.
 */

/**
 * Every route of the order service needs a service token (`serviceCredentials` of `@cads/http`,
 * audience `order`) from one of these callers. A token for a user (`sub`) acts for that user
 * only: it places orders as them and sees only their orders. A token without one acts for the
 * system (operators' tools): it reads any order and places none.
 */
export const orderServiceCallers = ['bff', 'operator'] as const;

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
const StepName = Type.String({
  minLength: 1,
  description: 'A step of the saga, as its map names it (`GET /api/saga` at the BFF lists them).',
});

export const StepView = Type.Object(
  {
    name: StepName,
    label: Type.String({ description: 'A short human name, e.g. "Restaurant".' }),
    state: Type.Union(
      [
        Type.Literal('pending'),
        Type.Literal('succeeded'),
        Type.Literal('failed'),
        Type.Literal('compensated'),
      ],
      { description: 'Where the step is, from the set of events known (never their order).' },
    ),
    reason: Type.Optional(Type.String({ description: 'Why it refused, on the failed step.' })),
  },
  { description: 'One step of the saga, in saga order.' },
);

export const ShownValue = Type.Object(
  {
    step: StepName,
    field: Type.String({ description: 'The field of the step’s success event.' }),
    label: Type.String(),
    format: Type.Optional(
      Type.Union([Type.Literal('text'), Type.Literal('cents')], {
        description: 'How to render it; `text` when absent.',
      }),
    ),
    value: Type.Unknown(),
  },
  { description: 'A field of a succeeded step the saga map says is worth showing.' },
);

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
    Type.Object(
      { step: StepName, reason: Type.String() },
      { description: 'Which step rejected it.' },
    ),
  ),
  compensated: Type.Array(StepName, {
    description: 'Steps that undid their success because a later one failed, in saga order.',
  }),
  steps: Type.Array(StepView, {
    description: 'Every step of the saga, in saga order: enough to draw a stepper of N steps.',
  }),
  shown: Type.Array(ShownValue, {
    description: 'The saga map’s shown fields of the succeeded steps, in saga order.',
  }),
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
export type StepView = Static<typeof StepView>;
export type ShownValue = Static<typeof ShownValue>;
export type OrderView = Static<typeof OrderView>;
export type OrderSummary = Static<typeof OrderSummary>;
export type OrderHistory = Static<typeof OrderHistory>;
