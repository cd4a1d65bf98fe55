import { type CartLine, type CartProblem, findRestaurant, priceCart } from '../contracts/menu.ts';

function describe(problem: CartProblem): string {
  switch (problem.kind) {
    case 'unknown_restaurant':
      return `unknown restaurant ${problem.restaurantId}`;
    case 'unknown_dish':
      return `unknown dish ${problem.itemId} (cart line ${problem.index})`;
    case 'duplicate_dish':
      return `dish ${problem.itemId} listed twice (cart line ${problem.index})`;
  }
}

export interface Quote {
  readonly priceCents: number;
  readonly restaurantPhone: string;
  readonly restaurantAddress: string;
}

/**
 * What the restaurant answers to a reservation: the price from the catalogue and its contact
 * details, or one line saying why it refuses the cart.
 */
export function quoteReservation(
  restaurantId: string,
  cart: readonly CartLine[],
): Quote | { readonly reason: string } {
  const priced = priceCart(restaurantId, cart);
  if ('problems' in priced) return { reason: priced.problems.map(describe).join('; ') };
  const restaurant = findRestaurant(restaurantId);
  if (!restaurant) return { reason: `unknown restaurant ${restaurantId}` };
  return {
    priceCents: priced.priceCents,
    restaurantPhone: restaurant.phone,
    restaurantAddress: restaurant.address,
  };
}
