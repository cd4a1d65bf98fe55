import Type, { type Static } from 'typebox';

/** Ids minted by the system (UUIDv7) or by the BFF (user ids): short, URL-safe. */
export const Id = Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9_.:-]+$' });

export const CartLine = Type.Object(
  {
    itemId: Type.String({ minLength: 1, maxLength: 20 }),
    amount: Type.Integer({ minimum: 1, maximum: 50 }),
  },
  { additionalProperties: false },
);
export const Cart = Type.Array(CartLine, { minItems: 1, maxItems: 50 });
export type Cart = Static<typeof Cart>;

/**
 * `order_created`: the order service accepted an order. Consumers tolerate extra fields
 * (a producer may add optional ones without a new version).
 */
export const OrderCreated = Type.Object({
  orderId: Id,
  userId: Id,
  restaurantId: Id,
  cart: Cart,
  status: Type.Literal(0),
});
export type OrderCreated = Static<typeof OrderCreated>;

/**
 * `order_timed_out`: the order's saga had no final event within its deadline (10 minutes by
 * default); the order service failed it, and every step that succeeded undoes its success.
 */
export const OrderTimedOut = Type.Object({
  orderId: Id,
  userId: Id,
  /** Why the saga failed: `timed out`. */
  reason: Type.String({ minLength: 1 }),
  /** The step the order was waiting on when its deadline passed. */
  step: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  status: Type.Literal(5),
});
export type OrderTimedOut = Static<typeof OrderTimedOut>;

/** Every event the order service emits, by type. */
export const orderEvents = { order_created: OrderCreated, order_timed_out: OrderTimedOut } as const;
