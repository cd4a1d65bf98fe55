import { Cart, Id } from '@cads/order/contracts';
import Type, { type Static } from 'typebox';

export const RestaurantReserved = Type.Object({
  orderId: Id,
  userId: Id,
  restaurantId: Id,
  cart: Cart,
  priceCents: Type.Integer({ minimum: 0 }),
  restaurantPhone: Type.String(),
  restaurantAddress: Type.String(),
  status: Type.Literal(0),
});
export type RestaurantReserved = Static<typeof RestaurantReserved>;

export const RestaurantCancelled = Type.Object({
  orderId: Id,
  userId: Id,
  restaurantCancellationReason: Type.String({ minLength: 1 }),
  status: Type.Literal(4),
});
export type RestaurantCancelled = Static<typeof RestaurantCancelled>;

export const RestaurantCompensated = Type.Object({
  orderId: Id,
  userId: Id,
  status: Type.Literal(5),
});
export type RestaurantCompensated = Static<typeof RestaurantCompensated>;

export const restaurantEvents = {
  restaurant_reserved: RestaurantReserved,
  restaurant_cancelled: RestaurantCancelled,
  restaurant_compensated: RestaurantCompensated,
} as const;
