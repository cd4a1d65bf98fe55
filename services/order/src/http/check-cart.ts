import { type CartLine, findRestaurant, priceCart } from '@cads/externals/contracts';
import type { FieldError } from '@cads/http';

/**
 * Checks an order against the catalogue. Pure. Either its price in cents, or one field error
 * per problem, named like schema errors (`body/cart/1/itemId`) so clients handle both alike.
 */
export function checkCart(
  restaurantId: string,
  cart: readonly CartLine[],
): { readonly priceCents: number } | { readonly errors: readonly FieldError[] } {
  const priced = priceCart(restaurantId, cart);
  if ('priceCents' in priced) return priced;
  const restaurant = findRestaurant(restaurantId)?.name ?? restaurantId;
  return {
    errors: priced.problems.map((problem): FieldError => {
      switch (problem.kind) {
        case 'unknown_restaurant':
          return {
            field: 'body/restaurantId',
            reason: `unknown restaurant ${problem.restaurantId}`,
          };
        case 'unknown_dish':
          return {
            field: `body/cart/${problem.index}/itemId`,
            reason: `unknown dish ${problem.itemId} at restaurant ${restaurant}`,
          };
        case 'duplicate_dish':
          return {
            field: `body/cart/${problem.index}/itemId`,
            reason: `dish ${problem.itemId} is already in an earlier line; put its whole amount in one line`,
          };
      }
    }),
  };
}

/** One line naming every field and its problem, for the problem's `detail`. */
export function describeCartErrors(errors: readonly FieldError[]): string {
  return errors.map((error) => `${error.field}: ${error.reason}`).join('; ');
}
