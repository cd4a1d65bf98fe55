import { createStepStore } from '@cads/service';

/** The payment step's records (table created by `migrations/001_charges.sql`). */
export const charges = createStepStore('payment_charges');
