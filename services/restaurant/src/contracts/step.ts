import { Cart, Id } from '@cads/order/contracts';
import { defineStep } from '@cads/saga';
import Type from 'typebox';
import { RestaurantCancelled, RestaurantCompensated, RestaurantReserved } from './events.ts';

/** What the restaurant step needs of the event before it: the order and its cart. */
export const RestaurantInput = Type.Object({
  orderId: Id,
  userId: Id,
  restaurantId: Id,
  cart: Cart,
});

/** The restaurant step of the food saga, as the saga map reads it. */
export const restaurantStep = defineStep({
  name: 'restaurant',
  label: 'Restaurant',
  description: 'Reserves the order at the restaurant, which prices it.',
  input: RestaurantInput,
  success: { type: 'restaurant_reserved', schema: RestaurantReserved },
  failure: {
    type: 'restaurant_cancelled',
    schema: RestaurantCancelled,
    reasonField: 'restaurantCancellationReason',
  },
  compensation: { type: 'restaurant_compensated', schema: RestaurantCompensated },
  shows: [
    { field: 'restaurantAddress', label: 'Address' },
    { field: 'restaurantPhone', label: 'Phone' },
    { field: 'priceCents', label: 'Price', format: 'cents' },
  ],
});
