import {
  type Database,
  type QueryResult,
  type Queryable,
  SqlIdentifier,
  toStatement,
  isStalePlan,
} from '@cads/storage';
import { PreparedStatements } from './prepared-statements.ts';
import { restrictToOwner } from './restrict-to-owner.ts';
import { type PgliteThread, startPgliteThread, type ThreadResult } from './pglite-thread.ts';

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

/**
 * Opens PGlite on a worker thread of its own, so the database and the services of the process
 * use two cores rather than one. Statements and transactions of all schemas run one at a time
 * on its one connection, in call order; they are handed over without waiting for earlier ones,
 * so the instance does not idle while this thread is busy. A transaction holds the instance
 * for its whole duration, so work inside `transaction()` must use its `tx`, never the
 * `Database`.
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
  const thread = await startPgliteThread(dataDir);
  const prepared = new PreparedStatements();
  try {
    // Parameters are sent as literals (see PreparedStatements), which is only safe with this on.
    const [settings] = await thread.run<ThreadResult[]>({
      op: 'run',
      schema: new SqlIdentifier('public'),
      text: 'show standard_conforming_strings',
      combine: false,
    });
    const setting = (settings?.rows[0] as Row | undefined)?.standard_conforming_strings;
    if (setting !== 'on') {
      throw new Error('PGlite must run with standard_conforming_strings on');
    }
    // Opening wrote files with PGlite's own modes: 0666 when it initialised the directory, and
    // the relation cache (0644) every time.
    if (dataDir !== undefined) await restrictToOwner(dataDir);
  } catch (error) {
    await thread.close();
    throw error;
  }
  return {
    async database(name) {
      const schema = new SqlIdentifier(name);
      await thread.run({
        op: 'run',
        schema,
        text: `create schema if not exists ${schema.quoted}`,
        combine: false,
      });
      return createSchemaDatabase(thread, schema, prepared);
    },
    async close() {
      await thread.close();
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

type Row = Record<string, unknown>;

function createSchemaDatabase(
  thread: PgliteThread,
  schema: SqlIdentifier,
  prepared: PreparedStatements,
): Database {
  const listeners = new Set<() => Promise<void>>();
  return {
    dialect: 'pglite',
    schema: schema.name,
    query: (statement, values) => run(thread, prepared, schema, undefined, statement, values),
    transaction: async (work) => {
      const tx = thread.transactionId();
      // Not awaited before the work starts: the worker keeps the transaction's statements until
      // it begins, so the first one goes out at once (one round trip fewer per transaction).
      const begun = thread.run({ op: 'begin', tx, schema });
      begun.catch(() => undefined);
      let open = true;
      const queryable: Queryable = {
        query: (statement, values) => {
          if (!open) return Promise.reject(new Error('the transaction has ended'));
          return run(thread, prepared, schema, tx, statement, values);
        },
      };
      let result;
      try {
        result = await work(queryable);
        await begun;
      } catch (error) {
        open = false;
        // The work's error is the one to report; a rollback that fails too leaves nothing to add.
        await thread.run({ op: 'end', tx, commit: false }).catch(() => undefined);
        throw error;
      }
      open = false;
      await thread.run({ op: 'end', tx, commit: true });
      return result;
    },
    async listen(channel, onNotify) {
      const unlisten = await thread.listen(schema, new SqlIdentifier(channel).name, onNotify);
      const stop = async () => {
        if (!listeners.delete(stop)) return;
        await unlisten();
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
  thread: PgliteThread,
  prepared: PreparedStatements,
  schema: SqlIdentifier,
  tx: number | undefined,
  statement: Parameters<Queryable['query']>[0],
  values: readonly unknown[] | undefined,
): Promise<QueryResult<Row>> {
  const { text, values: params } = toStatement(statement, values);
  const send = async () => {
    const call = params.length === 0 ? undefined : prepared.render(schema.name, text, params);
    const request = call
      ? { op: 'run' as const, tx, schema, text: call.text, combine: true }
      : {
          op: 'run' as const,
          tx,
          schema,
          text,
          combine: false,
          ...(params.length === 0 ? {} : { params: [...params] }),
        };
    try {
      const result = await thread.run<ThreadResult | ThreadResult[]>(request);
      call?.settle(true);
      return result;
    } catch (error) {
      call?.settle(false);
      throw error;
    }
  };
  let result: ThreadResult | ThreadResult[];
  try {
    result = await send();
  } catch (error) {
    // The failed statement was forgotten: it is prepared again (see isStalePlan).
    if (tx !== undefined || !isStalePlan(error)) throw error;
    result = await send();
  }
  const last = Array.isArray(result) ? result.at(-1) : result;
  return { rows: (last?.rows ?? []) as Row[], rowCount: countOf(last) };
}

function countOf(result: ThreadResult | undefined): number {
  if (!result) return 0;
  return result.rowCount ?? result.affectedRows ?? result.rows.length;
}
