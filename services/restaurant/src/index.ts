export type { RestaurantServiceOptions } from './app.ts';
export { restaurantService } from './app.ts';
/** The restaurant step's status of an order (0, 4, 5), or -1 without a record. For tests and tools. */
export { readReservationStatus as readRestaurantStatus } from './store/reservations.ts';
