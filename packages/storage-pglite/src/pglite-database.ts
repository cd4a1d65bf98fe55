import { PGlite, types, type Results } from '@electric-sql/pglite';
import {
  type Database,
  type QueryResult,
  type Queryable,
  SqlIdentifier,
  toStatement,
} from '@cads/storage';
import { PreparedStatements } from './prepared-statements.ts';
import { restrictToOwner } from './restrict-to-owner.ts';

export interface PgliteHostOptions {
  /**
   * Directory that keeps the data across restarts; in memory when absent. It is made readable
   * by its owner only (see `openPglite`).
   */
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
 *
 * On disk, the data directory and everything in it lose every group and other permission
 * (directories 0700, files 0600) before PGlite opens it (data left by earlier versions), once
 * it has opened it (PGlite gives the files it initialises 0666 whatever the umask) and after it
 * is closed. Files PGlite creates while open get the process's umask: give it 0o077 for them
 * to be owner-only too. PGlite is single-process and has no lock: the caller must make sure no
 * other process opens the directory meanwhile.
 */
export async function openPglite(options: PgliteHostOptions = {}): Promise<PgliteHost> {
  const { dataDir } = options;
  if (dataDir !== undefined) await restrictToOwnerIfExists(dataDir);
  const pglite = await PGlite.create({ ...(dataDir === undefined ? {} : { dataDir }), parsers });
  try {
    // Parameters are sent as literals (see PreparedStatements), which is only safe with this on.
    const [settings] = await pglite.exec('show standard_conforming_strings');
    if (settings?.rows[0]?.standard_conforming_strings !== 'on') {
      throw new Error('PGlite must run with standard_conforming_strings on');
    }
    // Opening wrote files with PGlite's own modes: 0666 when it initialised the directory, and
    // the relation cache (0644) every time.
    if (dataDir !== undefined) await restrictToOwner(dataDir);
  } catch (error) {
    await pglite.close();
    throw error;
  }
  const prepared = new PreparedStatements();
  let queue: Promise<unknown> = Promise.resolve();
  let searchPath: string | undefined;

  /**
   * Runs `work` alone on the instance, with `search_path` set to `schema`: when the path has to
   * change, `work` gets the `set` statement to send with its first statement (a transaction
   * sends it with BEGIN: one round trip, not two).
   */
  const exclusive = <T>(
    schema: SqlIdentifier,
    work: (prefix: string) => Promise<T>,
  ): Promise<T> => {
    const run = () => {
      if (searchPath === schema.name) return work('');
      // Unknown until `work` succeeds (a rolled-back transaction undoes the switch): after a
      // failure the next one sets it again.
      searchPath = undefined;
      const prefix = `set search_path to ${schema.quoted}, public;\n`;
      return work(prefix).then((result) => {
        searchPath = schema.name;
        return result;
      });
    };
    const result = queue.then(run, run);
    queue = result.catch(() => undefined);
    return result;
  };

  return {
    async database(name) {
      const schema = new SqlIdentifier(name);
      await exclusive(schema, (prefix) =>
        pglite.exec(`create schema if not exists ${schema.quoted};\n${prefix}`),
      );
      return createSchemaDatabase(pglite, schema, exclusive, prepared);
    },
    async close() {
      await queue;
      await pglite.close();
      if (dataDir !== undefined) await restrictToOwner(dataDir);
    },
  };
}

async function restrictToOwnerIfExists(dir: string): Promise<void> {
  try {
    await restrictToOwner(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

type Exclusive = <T>(schema: SqlIdentifier, work: (prefix: string) => Promise<T>) => Promise<T>;
interface PgliteQueryable {
  query<T>(query: string, params?: unknown[]): Promise<Results<T>>;
  exec(query: string): Promise<Array<Results>>;
}

function createSchemaDatabase(
  pglite: PGlite,
  schema: SqlIdentifier,
  exclusive: Exclusive,
  prepared: PreparedStatements,
): Database {
  const listeners = new Set<() => Promise<void>>();
  return {
    dialect: 'pglite',
    schema: schema.name,
    query: (statement, values) =>
      exclusive(schema, (prefix) => run(pglite, prepared, schema, statement, values, prefix)),
    // BEGIN/COMMIT sent directly rather than through `pglite.transaction`: the host's queue
    // already keeps everything else off the instance, and BEGIN (with the search path switch)
    // then rides on the transaction's first statement: one message fewer per transaction.
    transaction: (work) =>
      exclusive(schema, async (prefix) => {
        // After BEGIN, so a rollback also undoes the switch (and the path is set again next time).
        let opening = `begin;\n${prefix}`;
        let open = true;
        const queryable: Queryable = {
          query: (statement, values) => {
            if (!open) return Promise.reject(new Error('the transaction has ended'));
            const lead = opening;
            opening = '';
            return run(pglite, prepared, schema, statement, values, lead);
          },
        };
        try {
          const result = await work(queryable);
          open = false;
          // A transaction that ran no statement has nothing to commit, but the path it was
          // given must still be set: the queue records it as set once `work` succeeds.
          if (opening === '') await pglite.exec('commit');
          else if (prefix !== '') await pglite.exec(prefix);
          return result;
        } catch (error) {
          if (open) {
            open = false;
            if (opening === '') await pglite.exec('rollback');
          }
          throw error;
        }
      }),
    async listen(channel, onNotify) {
      // Through the queue: a LISTEN must not land inside another schema's transaction.
      const unlisten = await exclusive(schema, async (prefix) => {
        if (prefix !== '') await pglite.exec(prefix);
        return pglite.listen(new SqlIdentifier(channel).name, onNotify);
      });
      const stop = async () => {
        if (!listeners.delete(stop)) return;
        if (!pglite.closed) {
          await exclusive(schema, async (prefix) => {
            if (prefix !== '') await pglite.exec(prefix);
            await unlisten();
          });
        }
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
  prepared: PreparedStatements,
  schema: SqlIdentifier,
  statement: Parameters<Queryable['query']>[0],
  values: readonly unknown[] | undefined,
  prefix: string,
): Promise<QueryResult<Row>> {
  const { text, values: params } = toStatement(statement, values);
  const call = params.length === 0 ? undefined : prepared.render(schema.name, text, params);
  // Otherwise sent on its own: a statement such as VACUUM refuses to share a query string.
  if (prefix !== '' && !call) await target.exec(prefix);
  if (params.length === 0 || call) {
    let results: Results[];
    try {
      results = await target.exec(call ? `${prefix}${call.text}` : text);
    } catch (error) {
      call?.forget();
      throw error;
    }
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
