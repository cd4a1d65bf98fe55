export type { PostgresDatabaseOptions } from './postgres-database.ts';
export { openPostgresDatabase } from './postgres-database.ts';
