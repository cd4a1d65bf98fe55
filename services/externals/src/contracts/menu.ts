/**
 * The restaurants and dishes of the system, with their prices. Ids are part of the contract
 * (the web app, the order validation and the restaurants' system all use them). Money is in
 * integer cents everywhere.
 */
export interface Dish {
  readonly id: string;
  readonly name: string;
  readonly priceCents: number;
}

export interface Restaurant {
  readonly id: string;
  readonly name: string;
  readonly phone: string;
  readonly address: string;
  readonly dishes: readonly Dish[];
}

export const menu: readonly Restaurant[] = [
  {
    id: '385hf83',
    name: 'Chino',
    phone: '+34 91 555 01 83',
    address: 'Calle de la Reina 12, Madrid',
    dishes: [
      { id: 'c01', name: 'Pan chino', priceCents: 250 },
      { id: 'c02', name: 'Kubak 3 delicias', priceCents: 690 },
      { id: 'c03', name: 'Pollo al limon', priceCents: 850 },
      { id: 'c04', name: 'Pollo con almendras', priceCents: 890 },
    ],
  },
  {
    id: '48hbfe4',
    name: 'Pizzeria',
    phone: '+34 91 555 02 64',
    address: 'Calle del Pez 7, Madrid',
    dishes: [
      { id: 'p01', name: 'Pizza margarita', priceCents: 950 },
      { id: 'p02', name: 'Pizza bbq', priceCents: 1190 },
      { id: 'p03', name: 'Pizza inferno', priceCents: 1250 },
      { id: 'p04', name: 'Pizza 4 quesos', priceCents: 1150 },
      { id: 'p05', name: 'Calzone', priceCents: 1090 },
      { id: 'p06', name: 'Pan de ajo', priceCents: 390 },
    ],
  },
  {
    id: 'j48nfiu',
    name: 'Japo',
    phone: '+34 91 555 03 19',
    address: 'Calle de San Bernardo 40, Madrid',
    dishes: [
      { id: 's01', name: 'Sushi Salmon', priceCents: 1290 },
      { id: 's02', name: 'Sushi Atun', priceCents: 1390 },
      { id: 's03', name: 'Pan chino', priceCents: 250 },
      { id: 's04', name: 'Kubak 3 delicias', priceCents: 690 },
      { id: 's05', name: 'Pollo al limon', priceCents: 850 },
      { id: 's06', name: 'Pollo con almendras', priceCents: 890 },
    ],
  },
  {
    id: 'kf894jd',
    name: 'Burger',
    phone: '+34 91 555 04 88',
    address: 'Gran Via 31, Madrid',
    dishes: [
      { id: 'b01', name: 'Wopper', priceCents: 690 },
      { id: 'b02', name: 'Doble Wopper', priceCents: 890 },
      { id: 'b03', name: 'Big king', priceCents: 750 },
      { id: 'b04', name: 'Nuggets', priceCents: 490 },
      { id: 'b05', name: 'Patatas fritas', priceCents: 290 },
      { id: 'b06', name: 'Sundy', priceCents: 250 },
    ],
  },
];

export interface CartLine {
  readonly itemId: string;
  readonly amount: number;
}

export type CartProblem =
  | { readonly kind: 'unknown_restaurant'; readonly restaurantId: string }
  | { readonly kind: 'unknown_dish'; readonly index: number; readonly itemId: string }
  | { readonly kind: 'duplicate_dish'; readonly index: number; readonly itemId: string };

/** The restaurant with this id, if there is one. */
export function findRestaurant(restaurantId: string): Restaurant | undefined {
  return menu.find((restaurant) => restaurant.id === restaurantId);
}

/**
 * Checks a cart against the catalogue and prices it. Pure. A dish listed twice is a problem
 * (amounts are per line), so the same cart always has the same price.
 */
export function priceCart(
  restaurantId: string,
  cart: readonly CartLine[],
): { readonly priceCents: number } | { readonly problems: readonly CartProblem[] } {
  const restaurant = findRestaurant(restaurantId);
  if (!restaurant) return { problems: [{ kind: 'unknown_restaurant', restaurantId }] };
  const problems: CartProblem[] = [];
  const seen = new Set<string>();
  let priceCents = 0;
  cart.forEach((line, index) => {
    const dish = restaurant.dishes.find((candidate) => candidate.id === line.itemId);
    if (!dish) problems.push({ kind: 'unknown_dish', index, itemId: line.itemId });
    else if (seen.has(line.itemId))
      problems.push({ kind: 'duplicate_dish', index, itemId: line.itemId });
    else priceCents += dish.priceCents * line.amount;
    seen.add(line.itemId);
  });
  return problems.length > 0 ? { problems } : { priceCents };
}
