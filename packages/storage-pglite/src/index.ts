export type { PgliteHost, PgliteHostOptions } from './pglite-database.ts';
export { openPglite } from './pglite-database.ts';
