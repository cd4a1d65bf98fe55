import { Value } from 'typebox/value';
import { describe, expect, it } from 'vitest';
import { restaurantEvents } from '../contracts/events.ts';
import {
  cancelled,
  compensated,
  releaseKey,
  reservationRequest,
  reserved,
  reserveKey,
} from './reservation.ts';

const order = {
  orderId: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b',
  userId: 'user-1',
  restaurantId: '48hbfe4',
  cart: [
    { itemId: 'p01', amount: 3 },
    { itemId: 'p02', amount: 2 },
  ],
  status: 0,
  extra: 'tolerated on input, never passed on',
};
const reservation = {
  reservationId: 'res-1',
  priceCents: 5230,
  restaurantPhone: '+34 91 555 02 64',
  restaurantAddress: 'Calle del Pez 7, Madrid',
};

describe('restaurant decisions', () => {
  it('given an order, then the reservation request has exactly the fields the system accepts', () => {
    expect(reservationRequest(order)).toEqual({
      orderId: order.orderId,
      userId: 'user-1',
      restaurantId: '48hbfe4',
      cart: order.cart,
    });
  });

  it('given an accepted reservation, then restaurant_reserved carries the cart and the answer', () => {
    const data = reserved(order, reservation);
    expect(data).toEqual({
      orderId: order.orderId,
      userId: 'user-1',
      restaurantId: '48hbfe4',
      cart: order.cart,
      priceCents: 5230,
      restaurantPhone: '+34 91 555 02 64',
      restaurantAddress: 'Calle del Pez 7, Madrid',
      status: 0,
    });
    expect(Value.Check(restaurantEvents.restaurant_reserved, data)).toBe(true);
  });

  it('given a rejection, then restaurant_cancelled carries the system reason', () => {
    const data = cancelled(order, 'restaurant busy');
    expect(data).toEqual({
      orderId: order.orderId,
      userId: 'user-1',
      restaurantCancellationReason: 'restaurant busy',
      status: 4,
    });
    expect(Value.Check(restaurantEvents.restaurant_cancelled, data)).toBe(true);
  });

  it('given a compensation, then restaurant_compensated is valid', () => {
    expect(Value.Check(restaurantEvents.restaurant_compensated, compensated(order))).toBe(true);
  });

  it('derives one idempotency key per order and action', () => {
    expect(reserveKey('o1')).toBe('o1:restaurant:reserve');
    expect(releaseKey('o1')).toBe('o1:restaurant:release');
  });
});
