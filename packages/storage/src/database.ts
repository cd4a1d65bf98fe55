import type { SqlStatement } from './sql.ts';

export interface QueryResult<Row> {
  readonly rows: Row[];
  /** Rows inserted, updated, deleted or returned by the statement. */
  readonly rowCount: number;
}

/**
 * Runs statements. `text` uses PostgreSQL's `$1` placeholders. Without values, `text` may be a
 * script of several statements (migrations); the result is then the last statement's.
 */
export interface Queryable {
  query<Row = Record<string, unknown>>(
    statement: SqlStatement | string,
    values?: readonly unknown[],
  ): Promise<QueryResult<Row>>;
}

/** A transaction's connection: every statement runs in the same transaction. */
export type Transaction = Queryable;

/**
 * The storage port: PostgreSQL semantics on PGlite (embedded) or a PostgreSQL server.
 * A `Database` is scoped to one schema (one service): its statements resolve unqualified
 * names in that schema, then `public`.
 */
export interface Database extends Queryable {
  /** `pglite` or `postgres`: for diagnostics and benchmarks only, never for branching logic. */
  readonly dialect: 'pglite' | 'postgres';
  /** The schema unqualified names resolve to. */
  readonly schema: string;

  /**
   * Runs `work` in one transaction (READ COMMITTED) and commits when it resolves. If it
   * throws, everything it did is rolled back and the error is rethrown. A crash before the
   * commit leaves no trace of `work`.
   */
  transaction<T>(work: (tx: Transaction) => Promise<T>): Promise<T>;

  /**
   * Calls `onNotify` for each `NOTIFY channel` committed by anyone on this database, until the
   * returned function is called. Notifications are wake-up hints: they can be lost (e.g. on a
   * reconnect), so listeners also poll.
   */
  listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>>;

  /** Releases connections. Pending statements finish first. */
  close(): Promise<void>;
}
