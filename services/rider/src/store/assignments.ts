import { createStepStore } from '@cads/service';

/** The rider step's records (table created by `migrations/001_assignments.sql`). */
export const assignments = createStepStore('rider_assignments');
