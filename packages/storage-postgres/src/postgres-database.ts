import { createHash } from 'node:crypto';
import pg from 'pg';
import {
  type Database,
  type QueryResult,
  type Queryable,
  SqlIdentifier,
  inlineParameters,
  toStatement,
  isStalePlan,
} from '@cads/storage';

export interface PostgresDatabaseOptions {
  /** e.g. `postgres://user@127.0.0.1:5432/billing`. */
  readonly connectionString: string;
  /** Schema unqualified names resolve to; created if missing. Default `public`. */
  readonly schema?: string;
  /** Pool size. Default 10. */
  readonly maxConnections?: number;
  /** Application name shown in `pg_stat_activity`. */
  readonly applicationName?: string;
}

const INT8_OID = 20;
const typeParsers = {
  getTypeParser(oid: number, format?: 'text' | 'binary'): (value: string) => unknown {
    // int8 (counts, positions) as numbers, like the PGlite adapter: exact below 2^53.
    if (oid === INT8_OID) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format ?? 'text') as (value: string) => unknown;
  },
};

/**
 * Opens a pooled connection to a PostgreSQL server. Transactions run on one pooled
 * connection each; concurrent transactions run in parallel up to the pool size.
 */
export async function openPostgresDatabase(options: PostgresDatabaseOptions): Promise<Database> {
  const schema = new SqlIdentifier(options.schema ?? 'public');
  const clientConfig = {
    connectionString: options.connectionString,
    types: typeParsers,
    // Set per connection: a transaction's first statement inlines its parameters as literals,
    // which is only safe with standard-conforming strings.
    options: `-c search_path=${schema.quoted},public -c standard_conforming_strings=on`,
    application_name: options.applicationName ?? 'cads',
  };
  const pool = new pg.Pool({ ...clientConfig, max: options.maxConnections ?? 10 });
  // An idle client whose server connection drops emits here; without a listener it would crash.
  pool.on('error', () => undefined);
  try {
    await createSchema(pool, schema);
  } catch (error) {
    await pool.end();
    throw error;
  }
  const listeners = new Set<() => Promise<void>>();
  const names = new StatementNames(2_000);

  return {
    dialect: 'postgres',
    schema: schema.name,
    query: (statement, values) => run(pool, names, statement, values),
    async transaction(work) {
      const client = await pool.connect();
      // The pool hears only its idle clients: one checked out here whose connection drops
      // between statements (a server crash or restart) would emit an unheard 'error' and crash
      // the process. The next statement fails instead, and the client is destroyed on release.
      client.on('error', ignoreDroppedConnection);
      let begun = false;
      try {
        const tx: Queryable = {
          query: (statement, values) => {
            if (begun) return run(client, names, statement, values);
            // BEGIN travels with the first statement, one round trip fewer per transaction:
            // a script in the simple protocol, its parameters inlined as literals.
            begun = true;
            const { text, values: params } = toStatement(statement, values);
            const first = params.length === 0 ? text : inlineParameters(text, params);
            return run(client, names, `begin;\n${first}`, undefined);
          },
        };
        const result = await work(tx);
        if (begun) await client.query('commit');
        client.release();
        return result;
      } catch (error) {
        if (!begun) {
          client.release();
          throw error;
        }
        // A failed rollback means the connection is broken: destroy it rather than reuse it.
        await client.query('rollback').then(
          () => client.release(),
          (rollbackError: unknown) => client.release(rollbackError as Error),
        );
        throw error;
      } finally {
        client.removeListener('error', ignoreDroppedConnection);
      }
    },
    async listen(channel, onNotify) {
      const name = new SqlIdentifier(channel);
      const stop = await listenWithReconnect(clientConfig, name, onNotify);
      const unlisten = async () => {
        if (listeners.delete(unlisten)) await stop();
      };
      listeners.add(unlisten);
      return unlisten;
    },
    async close() {
      for (const stop of [...listeners]) await stop();
      await pool.end();
    },
  };
}

function ignoreDroppedConnection(): void {}

/**
 * `create schema if not exists` is not atomic: two pools opening the same new schema at once
 * can both try to create it, and the loser fails on the catalog's unique index.
 */
async function createSchema(pool: pg.Pool, schema: SqlIdentifier): Promise<void> {
  try {
    await pool.query(`create schema if not exists ${schema.quoted}`);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code !== '23505' && code !== '42P06') throw error;
  }
}

/**
 * Keeps a dedicated connection LISTENing on `channel`, reconnecting with a delay if it drops.
 * Notifications sent while it is reconnecting are lost: listeners poll as well.
 */
async function listenWithReconnect(
  config: pg.ClientConfig,
  channel: SqlIdentifier,
  onNotify: (payload: string) => void,
): Promise<() => Promise<void>> {
  let stopped = false;
  let client: pg.Client | undefined;
  let retry: NodeJS.Timeout | undefined;

  const connect = async (): Promise<void> => {
    const next = new pg.Client(config);
    next.on('notification', (message) => {
      if (message.channel === channel.name) onNotify(message.payload ?? '');
    });
    next.on('error', () => {
      if (client === next) client = undefined;
      void next.end().catch(() => undefined);
      scheduleReconnect();
    });
    await next.connect();
    await next.query(`listen ${channel.quoted}`);
    if (stopped) {
      await next.end();
      return;
    }
    client = next;
  };
  const scheduleReconnect = () => {
    if (stopped || retry) return;
    retry = setTimeout(() => {
      retry = undefined;
      connect().catch(scheduleReconnect);
    }, 1_000);
  };

  await connect();
  return async () => {
    stopped = true;
    if (retry) clearTimeout(retry);
    const current = client;
    client = undefined;
    await current?.end().catch(() => undefined);
  };
}

async function run<Row>(
  target: pg.Pool | pg.PoolClient,
  statementNames: StatementNames,
  statement: Parameters<Queryable['query']>[0],
  values: readonly unknown[] | undefined,
): Promise<QueryResult<Row>> {
  const { text, values: params } = toStatement(statement, values);
  const send = () => {
    // Without values node-postgres uses the simple protocol, which accepts scripts. With
    // values, a named statement: a connection parses it once, then only binds and executes it
    // (PostgreSQL's CPU per saga fell from 5.1 to 3.2 ms on the saga benchmark).
    if (params.length === 0) return target.query(text);
    const name = statementNames.nameOf(text);
    return target.query(
      name === undefined ? text : { name, text, values: [...params] },
      name === undefined ? [...params] : undefined,
    );
  };
  let result: pg.QueryResult | pg.QueryResult[];
  try {
    result = (await send()) as pg.QueryResult | pg.QueryResult[];
  } catch (error) {
    if (!isStalePlan(error)) throw error;
    statementNames.renew();
    // In a transaction the failure has aborted it: the caller runs it again, with new names.
    if (!(target instanceof pg.Pool)) throw error;
    result = (await send()) as pg.QueryResult | pg.QueryResult[];
  }
  const last = Array.isArray(result) ? result.at(-1) : result;
  return { rows: (last?.rows ?? []) as Row[], rowCount: last?.rowCount ?? 0 };
}

/**
 * The names statements are prepared under on every connection of one `Database` (a pool):
 * derived from the text, so equal texts share one and different ones never do. A connection's
 * search path is fixed when it opens (one schema per pool), so a plan always resolves names in
 * the schema it was made for.
 * Past `limit` distinct texts (SQL built on the fly), statements run unnamed: prepared
 * statements are kept per connection by the server until it closes.
 */
class StatementNames {
  readonly #hashes = new Map<string, string>();
  readonly #limit: number;
  #generation = 0;

  constructor(limit: number) {
    this.#limit = limit;
  }

  nameOf(text: string): string | undefined {
    let hash = this.#hashes.get(text);
    if (hash === undefined) {
      if (this.#hashes.size >= this.#limit) return undefined;
      hash = createHash('sha256').update(text).digest('hex').slice(0, 32);
      this.#hashes.set(text, hash);
    }
    return `cads${this.#generation}_${hash}`;
  }

  /** After a stale plan: every statement is prepared again, under new names. */
  renew(): void {
    this.#generation += 1;
  }
}
