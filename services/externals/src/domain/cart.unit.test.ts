import { describe, expect, it } from 'vitest';
import { quoteReservation } from './cart.ts';
import { riderFor } from './rider.ts';

describe('quoteReservation', () => {
  it("prices the seed's e2e order at 52.30 with the Pizzeria's phone and address", () => {
    expect(
      quoteReservation('48hbfe4', [
        { itemId: 'p01', amount: 3 },
        { itemId: 'p02', amount: 2 },
      ]),
    ).toEqual({
      priceCents: 5230,
      restaurantPhone: '+34 91 555 02 64',
      restaurantAddress: 'Calle del Pez 7, Madrid',
    });
  });

  it('refuses unknown restaurants and dishes, and dishes listed twice, with a reason', () => {
    expect(quoteReservation('nope', [{ itemId: 'p01', amount: 1 }])).toEqual({
      reason: 'unknown restaurant nope',
    });
    expect(
      quoteReservation('48hbfe4', [
        { itemId: 'p01', amount: 1 },
        { itemId: 'c01', amount: 1 },
        { itemId: 'p01', amount: 1 },
      ]),
    ).toEqual({ reason: 'unknown dish c01 (cart line 1); dish p01 listed twice (cart line 2)' });
  });
});

describe('riderFor', () => {
  it('gives one order always the same plausible rider', () => {
    const rider = riderFor('order-1');
    expect(riderFor('order-1')).toEqual(rider);
    expect(rider.riderName).toMatch(/^[A-Z][a-z]+ [A-Z][a-z]+$/);
    expect(rider.riderPhone).toMatch(/^\+34 6\d{2} \d{3} \d{3}$/);
  });
});
