import { PGlite, types, type Results } from '@electric-sql/pglite';
import {
  type Database,
  type QueryResult,
  type Queryable,
  SqlIdentifier,
  toStatement,
} from '@cads/storage';

export interface PgliteHostOptions {
  /** Directory that keeps the data across restarts; in memory when absent. */
  readonly dataDir?: string;
}

/**
 * One PGlite instance shared by every service of the process, each in its own schema. PGlite
 * is heavy (hundreds of MB and seconds to initialise), so a process opens exactly one.
 */
export interface PgliteHost {
  /** A `Database` whose unqualified names resolve in `schema` (created if missing). */
  database(schema: string): Promise<Database>;
  /** Closes the instance; every `Database` of the host stops working. */
  close(): Promise<void>;
}

const parsers = {
  // int8 (counts, positions) as numbers, like the PostgreSQL adapter: exact below 2^53.
  [types.INT8]: (value: string) => Number(value),
};

/**
 * Opens PGlite. PGlite runs one statement at a time on one connection; statements and
 * transactions of all schemas are queued in call order. A transaction holds the instance for
 * its whole duration, so work inside `transaction()` must use its `tx`, never the `Database`.
 */
export async function openPglite(options: PgliteHostOptions = {}): Promise<PgliteHost> {
  const pglite = await PGlite.create({
    ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
    parsers,
  });
  let queue: Promise<unknown> = Promise.resolve();
  let searchPath: string | undefined;

  /** Runs `work` alone on the instance, with `search_path` set to `schema`. */
  const exclusive = <T>(schema: SqlIdentifier, work: () => Promise<T>): Promise<T> => {
    const run = async () => {
      if (searchPath !== schema.name) {
        await pglite.exec(`set search_path to ${schema.quoted}, public`);
        searchPath = schema.name;
      }
      return work();
    };
    const result = queue.then(run, run);
    queue = result.catch(() => undefined);
    return result;
  };

  return {
    async database(name) {
      const schema = new SqlIdentifier(name);
      await exclusive(schema, () => pglite.exec(`create schema if not exists ${schema.quoted}`));
      return createSchemaDatabase(pglite, schema, exclusive);
    },
    async close() {
      await queue;
      await pglite.close();
    },
  };
}

type Exclusive = <T>(schema: SqlIdentifier, work: () => Promise<T>) => Promise<T>;
interface PgliteQueryable {
  query<T>(query: string, params?: unknown[]): Promise<Results<T>>;
  exec(query: string): Promise<Array<Results>>;
}

function createSchemaDatabase(
  pglite: PGlite,
  schema: SqlIdentifier,
  exclusive: Exclusive,
): Database {
  const listeners = new Set<() => Promise<void>>();
  return {
    dialect: 'pglite',
    schema: schema.name,
    query: (statement, values) => exclusive(schema, () => run(pglite, statement, values)),
    transaction: (work) =>
      exclusive(schema, () =>
        pglite.transaction((tx) => {
          const queryable: Queryable = { query: (statement, values) => run(tx, statement, values) };
          return work(queryable);
        }),
      ),
    async listen(channel, onNotify) {
      const unlisten = await pglite.listen(new SqlIdentifier(channel).name, onNotify);
      const stop = async () => {
        if (!listeners.delete(stop)) return;
        if (!pglite.closed) await unlisten();
      };
      listeners.add(stop);
      return stop;
    },
    async close() {
      // The instance belongs to the host; closing a schema's view only drops its listeners.
      for (const stop of [...listeners]) await stop();
    },
  };
}

async function run<Row>(
  target: PgliteQueryable,
  statement: Parameters<Queryable['query']>[0],
  values: readonly unknown[] | undefined,
): Promise<QueryResult<Row>> {
  const { text, values: params } = toStatement(statement, values);
  if (params.length === 0) {
    const results = await target.exec(text);
    const last = results.at(-1);
    return { rows: (last?.rows ?? []) as Row[], rowCount: countOf(last) };
  }
  const result = await target.query<Row>(text, [...params]);
  return { rows: result.rows, rowCount: countOf(result) };
}

function countOf(result: Results<unknown> | undefined): number {
  if (!result) return 0;
  return result.rowCount ?? result.affectedRows ?? result.rows.length;
}
