import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { Logger } from 'pino';
import { serviceNames, type ServiceName } from './system.ts';

export interface ClusterOptions {
  /** An admin connection to the PostgreSQL server; one database per service is created on it. */
  readonly postgresUrl: string;
  readonly natsUrl: string;
  readonly adminToken: string;
  readonly host: string;
  readonly basePort: number;
  readonly logger: Logger;
  /** Log level of the service processes (`CADS_LOG_LEVEL`). Default: this process's setting. */
  readonly logLevel?: string;
  /** Databases are named `<databasePrefix>_<service>`. Default `cads`. */
  readonly databasePrefix?: string;
  /** The services' JetStream stream (`CADS_NATS_STREAM` of each process). Default `CADS`. */
  readonly natsStream?: string;
  /** Their subjects `<prefix>.<type>` (`CADS_NATS_SUBJECT_PREFIX`). Default `cads`. */
  readonly natsSubjectPrefix?: string;
}

export interface RunningCluster {
  readonly urls: Readonly<Record<ServiceName, string>>;
  /** Restarts seen so far, per service. */
  readonly restarts: Readonly<Record<ServiceName, number>>;
  stop(): Promise<void>;
}

const main = fileURLToPath(new URL('./main.ts', import.meta.url));

/** `<prefix>_<service>` on the server of `postgresUrl`, created if missing. */
export async function ensureServiceDatabase(
  postgresUrl: string,
  service: ServiceName,
  prefix = 'cads',
): Promise<string> {
  if (!/^[a-z_][a-z0-9_]*$/.test(prefix)) {
    throw new TypeError(`database prefix '${prefix}' must match [a-z_][a-z0-9_]*`);
  }
  const name = `${prefix}_${service}`;
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (!rowCount) {
      await client.query(`create database "${name}"`).catch((error: { code?: string }) => {
        if (error.code !== '42P04') throw error;
      });
    }
  } finally {
    await client.end();
  }
  const url = new URL(postgresUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * Runs every service as its own OS process (`cads run <service>`) on PostgreSQL (a database per
 * service) and NATS JetStream, and restarts a process that dies, as a supervisor would.
 */
export async function startCluster(options: ClusterOptions): Promise<RunningCluster> {
  const urls = {} as Record<ServiceName, string>;
  const restarts = {} as Record<ServiceName, number>;
  const children = new Map<ServiceName, ChildProcess>();
  let stopping = false;

  const launch = (service: ServiceName, env: NodeJS.ProcessEnv) => {
    const child = spawn(process.execPath, ['--import', 'tsx', main, 'run', service], {
      env,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    children.set(service, child);
    child.once('exit', (code, signal) => {
      if (stopping) return;
      restarts[service] += 1;
      options.logger.warn(
        { service, code, signal, restarts: restarts[service] },
        'service process died; restarting',
      );
      setTimeout(() => launch(service, env), Math.min(5_000, 200 * restarts[service]));
    });
  };

  for (const [index, service] of serviceNames.entries()) {
    const port = options.basePort + index;
    urls[service] = `http://${options.host}:${port}`;
    restarts[service] = 0;
    const databaseUrl = await ensureServiceDatabase(
      options.postgresUrl,
      service,
      options.databasePrefix,
    );
    launch(service, {
      ...process.env,
      CADS_DATABASE_URL: databaseUrl,
      CADS_BROKER_URL: options.natsUrl,
      CADS_EXTERNALS_URL: `http://${options.host}:${options.basePort}`,
      CADS_ADMIN_TOKEN: options.adminToken,
      CADS_HOST: options.host,
      CADS_PORT: String(port),
      ...(options.logLevel ? { CADS_LOG_LEVEL: options.logLevel } : {}),
      ...(options.natsStream ? { CADS_NATS_STREAM: options.natsStream } : {}),
      ...(options.natsSubjectPrefix ? { CADS_NATS_SUBJECT_PREFIX: options.natsSubjectPrefix } : {}),
    });
  }

  return {
    urls,
    restarts,
    async stop() {
      stopping = true;
      await Promise.all(
        [...children.values()].map(async (child) => {
          if (child.exitCode !== null || child.signalCode !== null) return;
          const exited = new Promise((resolve) => child.once('exit', resolve));
          child.kill('SIGTERM');
          await exited;
        }),
      );
    },
  };
}
