import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { configureExternals, noDelays, waitReady } from '../saga/client.ts';

/** The CADS services every peer calls: the externals mock and the notifications provider. */
export interface SharedServices {
  readonly externalsUrl: string;
  readonly notificationsUrl: string;
  /** The externals' admin credential (config, ledger, reservations, assignments). */
  readonly adminToken: string;
  /** The services' internal secret: callers sign their service tokens with it. */
  readonly internalSecret: string;
  readonly processes: () => readonly { readonly label: string; readonly pid: number }[];
  stop(): Promise<void>;
}

const root = fileURLToPath(new URL('../../', import.meta.url));
// Node with tsx's loader, not the tsx command: that one runs the program in a child process,
// whose pid would not be the one doing the work (CPU and memory are read by pid).
const tsxLoader = import.meta.resolve('tsx');

/**
 * Runs the CADS externals and notifications services as the cluster does (`cads run`, a
 * process each, on a PostgreSQL database each of this run), with every external answering at
 * once: what the peers' sagas call. Their event log is their own database (they consume
 * nothing). `stop` ends the processes and drops the databases.
 */
export async function startSharedServices(options: {
  readonly postgresUrl: string;
  readonly basePort: number;
}): Promise<SharedServices> {
  const tag = randomUUID().replaceAll('-', '').slice(0, 8);
  const adminToken = randomBytes(16).toString('hex');
  const internalSecret = randomBytes(32).toString('base64url');
  const databases = {
    externals: `bench_peers_${tag}_externals`,
    notifications: `bench_peers_${tag}_notifications`,
  };
  const admin = new pg.Client({ connectionString: options.postgresUrl });
  await admin.connect();
  try {
    for (const name of Object.values(databases)) await admin.query(`create database "${name}"`);
  } finally {
    await admin.end();
  }
  const urlOf = (database: string) => {
    const url = new URL(options.postgresUrl);
    url.pathname = `/${database}`;
    return url.href;
  };
  const children: { label: string; child: ChildProcess }[] = [];
  const urls = {
    externals: `http://127.0.0.1:${options.basePort}`,
    notifications: `http://127.0.0.1:${options.basePort + 1}`,
  };
  for (const [index, service] of (['externals', 'notifications'] as const).entries()) {
    const child = spawn(
      process.execPath,
      [
        '--import',
        tsxLoader,
        `${root}apps/cli/src/main.ts`,
        'run',
        service,
        '--port',
        String(options.basePort + index),
      ],
      {
        env: {
          ...process.env,
          CADS_DATABASE_URL: urlOf(databases[service]),
          CADS_BROKER_URL: urlOf(databases[service]),
          CADS_ADMIN_TOKEN: adminToken,
          CADS_INTERNAL_SECRET: internalSecret,
          CADS_LOG_LEVEL: process.env.CADS_LOG_LEVEL ?? 'warn',
        },
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
    children.push({ label: service, child });
  }
  const stop = async () => {
    await Promise.all(
      children.map(
        ({ child }) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGTERM');
          }),
      ),
    );
    const client = new pg.Client({ connectionString: options.postgresUrl });
    await client.connect();
    try {
      for (const name of Object.values(databases)) {
        await client.query(`drop database if exists "${name}" with (force)`);
      }
    } finally {
      await client.end();
    }
  };
  try {
    await waitReady(Object.values(urls), 120_000);
    await configureExternals(urls.externals, adminToken, noDelays);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    externalsUrl: urls.externals,
    notificationsUrl: urls.notifications,
    adminToken,
    internalSecret,
    processes: () =>
      children
        .filter(({ child }) => child.pid !== undefined)
        .map(({ label, child }) => ({ label, pid: child.pid! })),
    stop,
  };
}
