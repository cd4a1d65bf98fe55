import { RiderCancelled } from '@cads/rider/contracts';
import type { RestaurantSystem } from '../restaurant-system.ts';
import { releaseReservation } from './release-reservation.ts';

/** `rider_cancelled` → release the reservation → `restaurant_compensated`. */
export const onRiderCancelled = (system: RestaurantSystem) =>
  releaseReservation(RiderCancelled, system);
