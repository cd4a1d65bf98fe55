export type { RiderServiceOptions } from './app.ts';
export { riderService } from './app.ts';
/** The rider step's status of an order (0, 4, 5), or -1 without a record. For tests and tools. */
export { readAssignmentStatus as readRiderStatus } from './store/assignments.ts';
