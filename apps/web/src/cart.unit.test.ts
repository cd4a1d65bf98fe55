import { describe, expect, it } from 'vitest';
import {
  cartCount,
  cartLines,
  cartTotalCents,
  clampAmount,
  emptyCart,
  parseAmount,
  setAmount,
  type Dish,
} from './cart.ts';
import { formatCents } from './format.ts';

const pizzeria: Dish[] = [
  { id: 'p01', name: 'Pizza margarita', priceCents: 950 },
  { id: 'p02', name: 'Pizza bbq', priceCents: 1190 },
  { id: 'p03', name: 'Pizza inferno', priceCents: 1250 },
];

describe('cart', () => {
  it('prices the seed order (3 × margarita + 2 × bbq) at 52.30 EUR, in integer cents', () => {
    let cart = setAmount(emptyCart, 'p02', 2);
    cart = setAmount(cart, 'p01', 3);
    expect(cartTotalCents(cart, pizzeria)).toBe(5230);
    expect(formatCents(cartTotalCents(cart, pizzeria))).toBe('€52.30');
    expect(cartCount(cart, pizzeria)).toBe(5);
  });

  it('sends only lines with an amount, in menu order', () => {
    let cart = setAmount(emptyCart, 'p03', 1);
    cart = setAmount(cart, 'p01', 2);
    cart = setAmount(cart, 'p02', 0);
    expect(cartLines(cart, pizzeria)).toEqual([
      { itemId: 'p01', amount: 2 },
      { itemId: 'p03', amount: 1 },
    ]);
  });

  it('ignores items that are not on this menu', () => {
    const cart = setAmount(emptyCart, 'b01', 4);
    expect(cartLines(cart, pizzeria)).toEqual([]);
    expect(cartTotalCents(cart, pizzeria)).toBe(0);
  });

  it('never mutates a cart', () => {
    const cart = setAmount(emptyCart, 'p01', 1);
    setAmount(cart, 'p01', 5);
    expect(cart.get('p01')).toBe(1);
    expect(emptyCart.size).toBe(0);
  });

  it('keeps amounts whole and within 0..50', () => {
    expect(clampAmount(-1)).toBe(0);
    expect(clampAmount(51)).toBe(50);
    expect(clampAmount(2.9)).toBe(2);
    expect(clampAmount(Number.NaN)).toBe(0);
    expect(setAmount(emptyCart, 'p01', 80).get('p01')).toBe(50);
    expect(setAmount(setAmount(emptyCart, 'p01', 2), 'p01', -3).has('p01')).toBe(false);
  });

  it('reads what is typed into a quantity field', () => {
    expect(parseAmount('3')).toBe(3);
    expect(parseAmount(' 7 ')).toBe(7);
    expect(parseAmount('')).toBe(0);
    expect(parseAmount('abc')).toBe(0);
    expect(parseAmount('99')).toBe(50);
    expect(parseAmount('1e3')).toBe(50);
  });
});

describe('formatCents', () => {
  it('formats cents as euros, one way everywhere', () => {
    expect(formatCents(950)).toBe('€9.50');
    expect(formatCents(0)).toBe('€0.00');
    expect(formatCents(5)).toBe('€0.05');
    expect(formatCents(123450)).toBe('€1,234.50');
  });
});
