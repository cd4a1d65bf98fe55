import type { SqlStatement } from '@cads/storage';

/**
 * A data-modifying statement (an insert or update, without `returning`) that changes nothing
 * unless `onlyIf`, a boolean SQL expression, holds. It runs as a CTE of another statement, so
 * it commits exactly when, and only if, that statement commits.
 */
export type GuardedWrite = (onlyIf: SqlStatement) => SqlStatement;
