export type { ExternalsServiceOptions } from './app.ts';
export { externalsService } from './app.ts';
export type { Assignment } from './store/assignments-store.ts';
export type { Reservation } from './store/reservations-store.ts';
