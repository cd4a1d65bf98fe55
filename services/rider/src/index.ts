import type { Queryable } from '@cads/storage';
import { assignments } from './store/assignments.ts';

export type { RiderServiceOptions } from './app.ts';
export { riderService } from './app.ts';

/** The rider step's status of an order (0, 4, 5), or -1 without a record. For tests and tools. */
export const readRiderStatus = (db: Queryable, orderId: string): Promise<number> =>
  assignments.status(db, orderId);
