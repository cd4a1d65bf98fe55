import { Compile } from 'typebox/compile';
import { describe, expect, it } from 'vitest';
import { checkCart, describeCartErrors } from './check-cart.ts';
import { PlaceOrderBody } from '../contracts/api.ts';

const pizzeria = '48hbfe4';

describe('PlaceOrderBody schema', () => {
  const body = Compile(PlaceOrderBody);
  const valid = { restaurantId: pizzeria, cart: [{ itemId: 'p01', amount: 3 }] };

  it('accepts a well-formed order', () => {
    expect(body.Check(valid)).toBe(true);
    expect(body.Check({ ...valid, cart: [{ itemId: 'p01', amount: 50 }] })).toBe(true);
  });

  it.each([
    ['an empty cart', { ...valid, cart: [] }],
    ['amount 0', { ...valid, cart: [{ itemId: 'p01', amount: 0 }] }],
    ['amount 51', { ...valid, cart: [{ itemId: 'p01', amount: 51 }] }],
    ['a fractional amount', { ...valid, cart: [{ itemId: 'p01', amount: 1.5 }] }],
    ['a string amount', { ...valid, cart: [{ itemId: 'p01', amount: '2' }] }],
    [
      '51 lines',
      { ...valid, cart: Array.from({ length: 51 }, () => ({ itemId: 'p01', amount: 1 })) },
    ],
    ['an extra field', { ...valid, price: 1 }],
    ['an extra field in a line', { ...valid, cart: [{ itemId: 'p01', amount: 1, price: 1 }] }],
    ['no restaurant', { cart: valid.cart }],
    ['a restaurant id with spaces', { ...valid, restaurantId: 'a b' }],
  ])('rejects %s', (_name, candidate) => {
    expect(body.Check(candidate)).toBe(false);
  });
});

describe('checkCart', () => {
  it('prices the seed order in cents: 3 × p01 + 2 × p02 = 52.30', () => {
    expect(
      checkCart(pizzeria, [
        { itemId: 'p01', amount: 3 },
        { itemId: 'p02', amount: 2 },
      ]),
    ).toEqual({ priceCents: 5230 });
  });

  it('names the restaurant field when the restaurant is unknown', () => {
    expect(checkCart('nope', [{ itemId: 'p01', amount: 1 }])).toEqual({
      errors: [{ field: 'body/restaurantId', reason: 'unknown restaurant nope' }],
    });
  });

  it('names each unknown or repeated dish by its line', () => {
    const result = checkCart(pizzeria, [
      { itemId: 'p01', amount: 1 },
      { itemId: 'c01', amount: 1 },
      { itemId: 'p01', amount: 2 },
    ]);
    expect(result).toEqual({
      errors: [
        { field: 'body/cart/1/itemId', reason: 'unknown dish c01 at restaurant Pizzeria' },
        {
          field: 'body/cart/2/itemId',
          reason: expect.stringContaining('dish p01 is already in an earlier line') as string,
        },
      ],
    });
    if ('errors' in result) {
      expect(describeCartErrors(result.errors)).toMatch(/^body\/cart\/1\/itemId: unknown dish c01/);
    }
  });
});
