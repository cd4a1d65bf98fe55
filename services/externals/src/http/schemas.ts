import Type, { type Static } from 'typebox';
import { EndpointConfig, idempotencyHeader } from '../contracts/api.ts';

/** Every POST and DELETE of a system needs its idempotency key (400 without it). */
export const CallHeaders = Type.Object({
  [idempotencyHeader]: Type.String({ minLength: 1, maxLength: 200 }),
});

const PartialEndpoint = Type.Partial(EndpointConfig, { additionalProperties: false });
const PartialSystem = Type.Object(
  { post: Type.Optional(PartialEndpoint), delete: Type.Optional(PartialEndpoint) },
  { additionalProperties: false },
);

/** Body of `POST /api/config`: any part of an `ExternalsConfig`, deep-merged into the scope's. */
export const PartialExternalsConfig = Type.Object(
  {
    restaurant: Type.Optional(PartialSystem),
    rider: Type.Optional(PartialSystem),
    payment: Type.Optional(PartialSystem),
  },
  { additionalProperties: false },
);

export const ScopeQuery = Type.Object({
  scope: Type.Optional(
    Type.String({ description: 'global (default), user:<userId> or order:<orderId>' }),
  ),
});

export const OrderQuery = Type.Object({ orderId: Type.Optional(Type.String({ minLength: 1 })) });
export const LedgerQuery = Type.Object({
  orderId: Type.Optional(Type.String({ minLength: 1 })),
  userId: Type.Optional(Type.String({ minLength: 1 })),
});

const ActivityStatus = Type.Union([Type.Literal('active'), Type.Literal('released')]);

export const ReservationSchema = Type.Object({
  reservationId: Type.String(),
  orderId: Type.String(),
  userId: Type.String(),
  restaurantId: Type.String(),
  cart: Type.Array(Type.Object({ itemId: Type.String(), amount: Type.Integer() })),
  priceCents: Type.Integer(),
  status: ActivityStatus,
  reservedAt: Type.String({ format: 'date-time' }),
  releasedAt: Type.Optional(Type.String({ format: 'date-time' })),
});
export type ReservationSchema = Static<typeof ReservationSchema>;

export const AssignmentSchema = Type.Object({
  riderId: Type.String(),
  riderName: Type.String(),
  riderPhone: Type.String(),
  orderId: Type.String(),
  userId: Type.String(),
  status: ActivityStatus,
  assignedAt: Type.String({ format: 'date-time' }),
  releasedAt: Type.Optional(Type.String({ format: 'date-time' })),
});

export const MenuSchema = Type.Array(
  Type.Object({
    id: Type.String(),
    name: Type.String(),
    phone: Type.String(),
    address: Type.String(),
    dishes: Type.Array(
      Type.Object({ id: Type.String(), name: Type.String(), priceCents: Type.Integer() }),
    ),
  }),
);
