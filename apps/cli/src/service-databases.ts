import { resolve } from 'node:path';
import type { Database } from '@cads/storage';
import { openPostgresDatabase } from '@cads/storage-postgres';
import type { LockOptions } from './data-dir-lock.ts';
import { type EmbeddedData, openEmbeddedData } from './embedded-data.ts';
import { OperatorError } from './operator-error.ts';
import type { ServiceName } from './system.ts';

/** Where the services' databases are, as the operator tools (`dlq`, `reconcile`) find them. */
export type DatabaseLocation =
  /** One service's own database (`cads run`'s `CADS_DATABASE_URL`). */
  | { readonly kind: 'database-url'; readonly url: string }
  /** `cads cluster`: a database `<prefix>_<service>` per service on one server. */
  | { readonly kind: 'cluster'; readonly postgresUrl: string; readonly prefix: string }
  /** `cads start`: one PGlite data directory, a schema per service. */
  | { readonly kind: 'embedded'; readonly dataDir: string };

/** The command-line flags that say where the databases are. */
export interface LocationFlags {
  readonly databaseUrl?: string | undefined;
  readonly postgresUrl?: string | undefined;
  readonly prefix?: string | undefined;
  readonly data?: string | undefined;
}

export const defaultPostgresUrl = 'postgres://postgres@127.0.0.1:5432/postgres';
export const defaultDataDir = '.cads/data';
const prefixPattern = /^[a-z_][a-z0-9_]*$/;

/** The location options, for the usage text of every command that takes them. */
export const locationUsage = `Where the databases are (one of; flags win over the environment):
  --database-url <url>   the service's own PostgreSQL database (dlq only; $CADS_DATABASE_URL)
  --postgres-url <url>   cluster mode: the databases <prefix>_<service> on this server
  --prefix <p>           ($CADS_POSTGRES_URL, default ${defaultPostgresUrl};
                         $CADS_DATABASE_PREFIX, default cads)
  --data <dir>           embedded mode: the PGlite data of \`cads start\` ($CADS_DATA_DIR,
                         the default: ${defaultDataDir}). PGlite is single-process: while
                         \`npm start\` runs on that directory nothing else may open it, so stop it
                         first (or inspect a running system in cluster mode).
`;

/**
 * Decides where the databases are from the flags, else the environment, else the embedded
 * default. `oneService` allows `--database-url` (a single service's database). Returns the
 * usage problem when the flags contradict each other.
 */
export function resolveDatabaseLocation(
  flags: LocationFlags,
  env: Readonly<Record<string, string | undefined>>,
  { oneService }: { readonly oneService: boolean },
): { readonly location: DatabaseLocation } | { readonly usage: string } {
  const cluster = flags.postgresUrl !== undefined || flags.prefix !== undefined;
  const given = [flags.databaseUrl !== undefined, cluster, flags.data !== undefined];
  if (given.filter(Boolean).length > 1) {
    return { usage: 'give only one of --database-url, --postgres-url/--prefix and --data' };
  }
  if (flags.databaseUrl !== undefined && !oneService) {
    return {
      usage:
        'this command reads every service: give --postgres-url/--prefix (cluster) or --data (embedded)',
    };
  }
  if (flags.databaseUrl !== undefined) {
    return { location: { kind: 'database-url', url: flags.databaseUrl } };
  }
  if (flags.data !== undefined) return { location: { kind: 'embedded', dataDir: flags.data } };
  const envPostgres = env.CADS_POSTGRES_URL || undefined;
  const envPrefix = env.CADS_DATABASE_PREFIX || undefined;
  if (!cluster && oneService && env.CADS_DATABASE_URL) {
    return { location: { kind: 'database-url', url: env.CADS_DATABASE_URL } };
  }
  if (cluster || envPostgres !== undefined || envPrefix !== undefined) {
    const prefix = flags.prefix ?? envPrefix ?? 'cads';
    if (!prefixPattern.test(prefix)) {
      return { usage: `the database prefix '${prefix}' must match [a-z_][a-z0-9_]*` };
    }
    return {
      location: {
        kind: 'cluster',
        postgresUrl: flags.postgresUrl ?? envPostgres ?? defaultPostgresUrl,
        prefix,
      },
    };
  }
  return { location: { kind: 'embedded', dataDir: env.CADS_DATA_DIR || defaultDataDir } };
}

/** The services' databases, opened lazily, each at most once. */
export interface ServiceDatabases {
  /** The database of `service`; fails with an `OperatorError` saying why it cannot be opened. */
  databaseFor(service: ServiceName): Promise<Database>;
  /** Where `service`'s database is, for messages (credentials hidden). */
  describe(service: ServiceName): string;
  close(): Promise<void>;
}

/**
 * Opens the databases of a location for reading and operator writes (dead letters). Nothing
 * is migrated or created, except that PGlite and the PostgreSQL adapter create the schema they
 * are pointed at when it is missing, which is why a missing schema is checked first.
 *
 * Embedded mode holds the data directory's lock from the first database opened until `close`,
 * as `cads start` does (`openEmbeddedData`): a directory in use by another process is refused,
 * as PGlite has no lock of its own and two instances on one directory corrupt it.
 */
export function openServiceDatabases(
  location: DatabaseLocation,
  cwd: string,
  options: { readonly onStaleLock?: LockOptions['onStaleLock'] } = {},
): ServiceDatabases {
  const opened = new Map<ServiceName, Promise<Database>>();
  let embedded: Promise<EmbeddedData> | undefined;
  const dataDir = location.kind === 'embedded' ? resolve(cwd, location.dataDir) : '';

  const describe = (service: ServiceName) => {
    switch (location.kind) {
      case 'database-url':
        return redact(location.url);
      case 'cluster':
        return redact(clusterDatabaseUrl(location, service));
      case 'embedded':
        return `schema ${service} of the embedded data in ${dataDir}`;
    }
  };

  const openPostgres = async (service: ServiceName, url: string) => {
    try {
      return await openPostgresDatabase({
        connectionString: url,
        maxConnections: 2,
        applicationName: `cads-cli-${service}`,
      });
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      const problem =
        code === '3D000'
          ? 'the database does not exist (wrong --prefix, or the service never ran there?)'
          : error instanceof Error
            ? error.message
            : String(error);
      throw new OperatorError(`cannot open ${service}'s database ${redact(url)}: ${problem}`, {
        cause: error,
      });
    }
  };

  const openEmbedded = async (service: ServiceName) => {
    embedded ??= openEmbeddedData(dataDir, { create: false, ...options });
    const { host } = await embedded;
    const db = await host.database('public');
    const { rowCount } = await db.query(
      'select 1 from information_schema.schemata where schema_name = $1',
      [service],
    );
    if (rowCount === 0) {
      throw new OperatorError(
        `the embedded data in ${dataDir} has no schema ${service}: has the system run there?`,
      );
    }
    return host.database(service);
  };

  return {
    describe,
    databaseFor(service) {
      let db = opened.get(service);
      if (!db) {
        db =
          location.kind === 'embedded'
            ? openEmbedded(service)
            : openPostgres(
                service,
                location.kind === 'cluster' ? clusterDatabaseUrl(location, service) : location.url,
              );
        opened.set(service, db);
      }
      return db;
    },
    async close() {
      const results = await Promise.allSettled(opened.values());
      for (const result of results) {
        if (result.status === 'fulfilled') await result.value.close();
      }
      if (embedded) {
        const data = await embedded.catch(() => undefined);
        await data?.close();
      }
    },
  };
}

/** `<prefix>_<service>` on the cluster's server (as `ensureServiceDatabase` names it). */
export function clusterDatabaseUrl(
  location: { readonly postgresUrl: string; readonly prefix: string },
  service: ServiceName,
): string {
  const url = new URL(location.postgresUrl);
  url.pathname = `/${location.prefix}_${service}`;
  return url.toString();
}

function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
  }
}
