import { createStepStore } from '@cads/service';

/** The restaurant step's records (table created by `migrations/001_reservations.sql`). */
export const reservations = createStepStore('restaurant_reservations');
