import Type, { type Static } from 'typebox';

/**
 * HTTP contract of the externals mock (the restaurants', riders' and bank's systems).
 *
 * Every POST and DELETE carries an `Idempotency-Key` header; a repeated key gets the first
 * final answer again (2xx or 4xx; a 5xx is not final, so a retry is answered afresh) and has no
 * second effect. Failure answers carry `{ reason }` with the system's own reason text.
 */
export const idempotencyHeader = 'idempotency-key';

/** Which external system. */
export const systems = ['restaurant', 'rider', 'payment'] as const;
export type ExternalSystem = (typeof systems)[number];

const OrderRef = {
  orderId: Type.String({ minLength: 1, maxLength: 100 }),
  userId: Type.String({ minLength: 1, maxLength: 100 }),
};

/** POST /api/restaurant: reserve the cart. */
export const ReserveRestaurantRequest = Type.Object(
  {
    ...OrderRef,
    restaurantId: Type.String({ minLength: 1, maxLength: 100 }),
    cart: Type.Array(
      Type.Object(
        {
          itemId: Type.String({ minLength: 1 }),
          amount: Type.Integer({ minimum: 1, maximum: 50 }),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 50 },
    ),
  },
  { additionalProperties: false },
);
export type ReserveRestaurantRequest = Static<typeof ReserveRestaurantRequest>;
export const ReserveRestaurantResponse = Type.Object({
  reservationId: Type.String(),
  priceCents: Type.Integer({ minimum: 0 }),
  restaurantPhone: Type.String(),
  restaurantAddress: Type.String(),
});
export type ReserveRestaurantResponse = Static<typeof ReserveRestaurantResponse>;

/** POST /api/rider: assign a rider. */
export const AssignRiderRequest = Type.Object({ ...OrderRef }, { additionalProperties: false });
export type AssignRiderRequest = Static<typeof AssignRiderRequest>;
export const AssignRiderResponse = Type.Object({
  riderId: Type.String(),
  riderName: Type.String(),
  riderPhone: Type.String(),
});
export type AssignRiderResponse = Static<typeof AssignRiderResponse>;

/** POST /api/payment: charge the user. */
export const ChargeRequest = Type.Object(
  { ...OrderRef, amountCents: Type.Integer({ minimum: 0 }) },
  { additionalProperties: false },
);
export type ChargeRequest = Static<typeof ChargeRequest>;
export const ChargeResponse = Type.Object({
  receiptId: Type.String(),
  amountCents: Type.Integer({ minimum: 0 }),
});
export type ChargeResponse = Static<typeof ChargeResponse>;

/** DELETE /api/restaurant | /api/rider | /api/payment: release, unassign, refund. 204 when done. */
export const ReleaseRequest = Type.Object({ ...OrderRef }, { additionalProperties: false });
export type ReleaseRequest = Static<typeof ReleaseRequest>;

/** Any non-2xx answer. */
export const FailureResponse = Type.Object({ reason: Type.String() });
export type FailureResponse = Static<typeof FailureResponse>;

/** The reasons of the seed's systems when they answer with a failure. */
export const failureReasons: Record<ExternalSystem, string> = {
  restaurant: 'restaurant busy',
  rider: 'no rider available',
  payment: 'payment platform busy',
};

/**
 * Behaviour of one endpoint. `response` is the HTTP status answered; `failFirst` lists statuses
 * answered first, one per call with the same idempotency key (e.g. `[503, 503]` then
 * `response`), to simulate transient failures; `delay + random(0..randomDelay)` ms passes
 * before answering.
 */
export const EndpointConfig = Type.Object(
  {
    response: Type.Integer({ minimum: 200, maximum: 599 }),
    delay: Type.Integer({ minimum: 0, maximum: 120_000 }),
    randomDelay: Type.Integer({ minimum: 0, maximum: 120_000 }),
    failFirst: Type.Array(Type.Integer({ minimum: 200, maximum: 599 }), { maxItems: 20 }),
    /** Reason text of failure answers; default: the system's reason. */
    reason: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  },
  { additionalProperties: false },
);
export type EndpointConfig = Static<typeof EndpointConfig>;

export const SystemConfig = Type.Object(
  { post: EndpointConfig, delete: EndpointConfig },
  { additionalProperties: false },
);
export const ExternalsConfig = Type.Object(
  { restaurant: SystemConfig, rider: SystemConfig, payment: SystemConfig },
  { additionalProperties: false },
);
export type ExternalsConfig = Static<typeof ExternalsConfig>;

/**
 * The seed's defaults: POST answers 201, DELETE 204, after 500 + random(0..1000) ms.
 * (`npm start` and tests usually lower the delays through `/api/config`.)
 */
export const defaultEndpoint = (response: number): EndpointConfig => ({
  response,
  delay: 500,
  randomDelay: 1_000,
  failFirst: [],
});

/**
 * Config endpoints (admin credential required: `Authorization: Bearer <token>`):
 * - `GET /api/config?scope=` → the effective config of a scope (global when absent);
 * - `POST /api/config?scope=` with a partial config, deep-merged → 202 with the result;
 *   invalid → 400 with the reason;
 * - `POST /api/config/reset?scope=` → 202: the scope (or everything, when absent) back to defaults.
 * A scope is `user:<userId>` or `order:<orderId>`; a call uses the most specific scope that has
 * a config (order, then user, then global), so parallel tests don't interfere.
 *
 * Inspection (admin): `GET /api/payment/ledger?orderId=&userId=` → charges and refunds;
 * `GET /api/restaurant/reservations?orderId=` and `GET /api/rider/assignments?orderId=` →
 * current and released ones.
 */
export const LedgerEntry = Type.Object({
  orderId: Type.String(),
  userId: Type.String(),
  kind: Type.Union([Type.Literal('charge'), Type.Literal('refund')]),
  amountCents: Type.Integer(),
  receiptId: Type.String(),
  at: Type.String({ format: 'date-time' }),
});
export type LedgerEntry = Static<typeof LedgerEntry>;
