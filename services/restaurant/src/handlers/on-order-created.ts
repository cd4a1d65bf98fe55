import { ReserveRestaurantResponse } from '@cads/externals/contracts';
import { OrderCreated } from '@cads/order/contracts';
import { forwardStep, type StepDeadline } from '@cads/service';
import { restaurantEvents } from '../contracts/events.ts';
import { cancelled, reserved } from '../domain/reservation.ts';
import type { RestaurantSystem } from '../restaurant-system.ts';
import { reservations } from '../store/reservations.ts';

/** `order_created` → reserve at the restaurant → `restaurant_reserved` | `restaurant_cancelled`. */
export const onOrderCreated = (system: RestaurantSystem, deadline: StepDeadline = {}) =>
  forwardStep({
    schema: OrderCreated,
    store: reservations,
    answer: ReserveRestaurantResponse,
    call: (order) => system.reserve(order),
    release: (order) => system.release(order),
    accepted: (order, reservation) => ({
      type: 'restaurant_reserved',
      data: reserved(order, reservation),
    }),
    rejected: (order, reason) => ({ type: 'restaurant_cancelled', data: cancelled(order, reason) }),
    events: restaurantEvents,
    ...deadline,
  });
