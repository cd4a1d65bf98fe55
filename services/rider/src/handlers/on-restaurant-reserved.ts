import { AssignRiderResponse } from '@cads/externals/contracts';
import { RestaurantReserved } from '@cads/restaurant/contracts';
import { forwardStep, type StepDeadline } from '@cads/service';
import { riderEvents } from '../contracts/events.ts';
import { assigned, cancelled } from '../domain/assignment.ts';
import type { RiderSystem } from '../rider-system.ts';
import { assignments } from '../store/assignments.ts';

/** `restaurant_reserved` → assign a rider → `rider_assigned` | `rider_cancelled`. */
export const onRestaurantReserved = (system: RiderSystem, deadline: StepDeadline = {}) =>
  forwardStep({
    schema: RestaurantReserved,
    store: assignments,
    answer: AssignRiderResponse,
    call: (order) => system.assign(order),
    release: (order) => system.release(order),
    accepted: (order, assignment) => ({
      type: 'rider_assigned',
      data: assigned(order, assignment),
    }),
    rejected: (order, reason) => ({ type: 'rider_cancelled', data: cancelled(order, reason) }),
    events: riderEvents,
    ...deadline,
  });
