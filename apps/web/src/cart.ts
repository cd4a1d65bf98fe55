import type { MenuRestaurant, PlaceOrderBody } from '@cads/bff/contracts';

/**
 * The cart of one restaurant: item id → amount. Pure functions; a cart is never mutated, so a
 * change is a new map (which is what triggers a re-render).
 */
export type Cart = ReadonlyMap<string, number>;
export type Dish = MenuRestaurant['dishes'][number];

/** The order service accepts 1..50 of a dish per line; 0 means "not in the cart". */
export const maxAmount = 50;

export const emptyCart: Cart = new Map();

/** Any number (typed, pasted, stepped) as a valid amount: whole, 0..50. */
export function clampAmount(value: number): number {
  if (!Number.isFinite(value)) return 0;
  return Math.min(maxAmount, Math.max(0, Math.trunc(value)));
}

/** What the quantity input holds, as an amount; empty or garbage is 0. */
export function parseAmount(text: string): number {
  const trimmed = text.trim();
  return trimmed === '' ? 0 : clampAmount(Number(trimmed));
}

export function amountOf(cart: Cart, itemId: string): number {
  return cart.get(itemId) ?? 0;
}

export function setAmount(cart: Cart, itemId: string, amount: number): Cart {
  const next = new Map(cart);
  const clamped = clampAmount(amount);
  if (clamped === 0) next.delete(itemId);
  else next.set(itemId, clamped);
  return next;
}

/** The order's lines: dishes of this menu with an amount, in menu order. */
export function cartLines(cart: Cart, dishes: readonly Dish[]): PlaceOrderBody['cart'] {
  return dishes
    .map((dish) => ({ itemId: dish.id, amount: amountOf(cart, dish.id) }))
    .filter(({ amount }) => amount > 0);
}

export function cartTotalCents(cart: Cart, dishes: readonly Dish[]): number {
  return dishes.reduce((total, dish) => total + dish.priceCents * amountOf(cart, dish.id), 0);
}

export function cartCount(cart: Cart, dishes: readonly Dish[]): number {
  return cartLines(cart, dishes).reduce((count, { amount }) => count + amount, 0);
}
