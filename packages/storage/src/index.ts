export type { Database, QueryResult, Queryable, Transaction } from './database.ts';
export type { Migration, MigrationReport } from './migrations.ts';
export { loadMigrations, migrate } from './migrations.ts';
export type { SqlStatement } from './sql.ts';
export { sql, SqlIdentifier, SqlRaw, toStatement } from './sql.ts';
export { inlineParameters, sqlLiteral } from './literals.ts';
export { isDatabaseUnavailable } from './unavailable.ts';
export { isSqlError, isStalePlan } from './stale-plan.ts';
