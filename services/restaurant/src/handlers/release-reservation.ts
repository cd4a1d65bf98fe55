import { compensationStep } from '@cads/service';
import type { TSchema } from 'typebox';
import { restaurantEvents } from '../contracts/events.ts';
import { compensated } from '../domain/reservation.ts';
import type { RestaurantSystem } from '../restaurant-system.ts';
import { reservations } from '../store/reservations.ts';

/** A later step failed (`schema` is its event) → release the reservation → `restaurant_compensated`. */
export const releaseReservation = <S extends TSchema>(schema: S, system: RestaurantSystem) =>
  compensationStep({
    schema,
    store: reservations,
    release: (order) => system.release(order),
    compensated: (order) => ({ type: 'restaurant_compensated', data: compensated(order) }),
    events: restaurantEvents,
  });
