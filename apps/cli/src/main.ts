#!/usr/bin/env -S node --import tsx
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { buildApiDocuments, writeApiDocuments } from './api-docs.ts';
import { startCluster, untilClusterReady } from './cluster.ts';
import { processIo } from './command-io.ts';
import { runServices } from './distributed.ts';

import { runDlq } from './dlq.ts';
import { startEmbedded } from './embedded.ts';
import { OperatorError } from './operator-error.ts';
import { runReconcile } from './reconcile-command.ts';
import { runSaga } from './saga-command.ts';
import { isServiceName, serviceNames, type ServiceSettings } from './system.ts';
import { type BffLimits, defaultLimits } from '@cads/bff';

/** Where `run` with several services puts each one's name in CADS_DATABASE_URL. */
const serviceMark = '{service}';

const usage = `Usage: cads <command> [options]

Commands:
  start              every service in this process on PGlite and the embedded event log
                     (data kept in --data)
  run <service>[,<service>…]
                     one service in this process (or several, each with its own database and
                     port: --port, --port + 1, …), from the environment:
                       CADS_DATABASE_URL  its PostgreSQL database (required; with several
                                          services, {service} in it is each one's name)
                       CADS_BROKER_URL    nats://… (JetStream) or postgres://… (event log) (required)
                       CADS_EXTERNALS_URL where the external systems answer (restaurant, rider, payment)
                       CADS_ORDER_URL, CADS_NOTIFICATIONS_URL  what the bff calls
                       CADS_SESSION_SECRET  signs the bff's session cookies (≥ 32 characters;
                                          every bff instance of a deployment shares it)
                       CADS_INTERNAL_SECRET  signs and checks the calls between services
                                          (required, ≥ 32 characters, the same in every
                                          process; start keeps one in --data, cluster makes
                                          one per run unless it is set)
                       CADS_LIMIT_<NAME>  one of the bff's limits (429 over it), e.g.
                                          CADS_LIMIT_LIVE_CONNECTIONS_PER_USER (default 20),
                                          CADS_LIMIT_ORDERS_PER_IP_PER_MINUTE (default 300);
                                          every name: BffLimits in services/bff
                       CADS_SECURE_COOKIES  true when the bff is served over HTTPS: Secure
                                          session cookies and HSTS (default false)
                       CADS_WEB_ROOT      the built web app the bff serves (default apps/web/dist)
                       CADS_DATABASE_POOL connections to its database at most (default 10)
                       CADS_OUTAGE_BUDGET_MS  how long a message is kept while a dependency
                                          is down before it is dead-lettered (default 3600000;
                                          also read by start and cluster)
                       CADS_UNREACHABLE_TIMEOUT_MS  when a step rejects an order whose external
                                          system stays unreachable (default 300000; also read
                                          by start and cluster)
                       CADS_SAGA_DEADLINE_MS  when an order with no final event is failed as
                                          timed out, its steps undone (default 600000; also
                                          read by start and cluster)
  docs               write docs/asyncapi.json and docs/openapi/<service>.json from the code
  saga check|graph   check every saga of the repository (one line per problem, exit 1 when
                     there is any), or write their diagrams to docs/sagas/ and the README
                     (cads saga --help)
  cluster            every service as its own processes on PostgreSQL (a database per
                     service) and NATS JetStream, restarted when they die: two instances of
                     restaurant, rider, payment and bff, the bffs behind a round-robin entry
                     point on --port (the others from --port + 1):
                       CADS_POSTGRES_URL  admin connection (default postgres://postgres@127.0.0.1:5432/postgres)
                       CADS_NATS_URL      default nats://127.0.0.1:4222
                       CADS_DATABASE_PREFIX      databases <prefix>_<service> (default cads)
                       CADS_NATS_STREAM          stream (default CADS; also read by run)
                       CADS_NATS_SUBJECT_PREFIX  subjects <prefix>.<type> (default cads; also read by run)
  dlq list|show|redrive|discard <service> …
                     a service's dead letters: list them, show one in full (body, error,
                     stack), have the running service handle them again, or delete one
                     (cads dlq --help)
  reconcile          checks every service's records, the externals' ledger, reservations and
                     assignments, notifications and the bff's decisions against each other and
                     the saga's outcomes; exit 1 when anything disagrees (cads reconcile --help)
                     dlq and reconcile find the databases with --database-url (one service),
                     --postgres-url/--prefix (cluster) or --data (embedded; not while
                     \`npm start\` runs on it: PGlite is single-process)

Services: ${serviceNames.join(', ')}

The web app's live transport is $CADS_FRONT_CONNECTION_TYPE (or the seed's
$FRONT_CONNECTION_TYPE): sse (default) or ws.

Options:
  --port <n>         first port: the bff (web app) takes it, the other services the next
                     ones in the order above
                     (default: $CADS_PORT or 3000; 0 picks free ports, start only)
  --host <addr>      listen address (default: $CADS_HOST or 127.0.0.1): of the bff alone
                     for start and cluster (the other services, internal, stay on
                     127.0.0.1); of every service given to run
  --data <dir>       data directory of \`start\` (default: $CADS_DATA_DIR or .cads/data); one
                     process at a time uses it, and only its owner can read it
  -h, --help         show this help

The admin credential (the externals' config and records, the bff's /metrics and /openapi.json)
is $CADS_ADMIN_TOKEN (a random one is made and printed when it is not set).
`;

/** The outage settings of every service, from the environment; a usage problem as a string. */
function outageSettings(
  env: NodeJS.ProcessEnv,
): Pick<ServiceSettings, 'outage' | 'unreachableTimeoutMs' | 'sagaDeadlineMs'> | string {
  const read = (name: string): number | string | undefined => {
    const text = env[name];
    if (text === undefined || text === '') return undefined;
    const value = Number(text);
    return Number.isInteger(value) && value > 0
      ? value
      : `${name} must be a positive number of milliseconds, got ${JSON.stringify(text)}`;
  };
  const budgetMs = read('CADS_OUTAGE_BUDGET_MS');
  const unreachableTimeoutMs = read('CADS_UNREACHABLE_TIMEOUT_MS');
  const sagaDeadlineMs = read('CADS_SAGA_DEADLINE_MS');
  if (typeof budgetMs === 'string') return budgetMs;
  if (typeof unreachableTimeoutMs === 'string') return unreachableTimeoutMs;
  if (typeof sagaDeadlineMs === 'string') return sagaDeadlineMs;
  return {
    ...(budgetMs === undefined ? {} : { outage: { budgetMs } }),
    ...(unreachableTimeoutMs === undefined ? {} : { unreachableTimeoutMs }),
    ...(sagaDeadlineMs === undefined ? {} : { sagaDeadlineMs }),
  };
}

/**
 * The BFF's limits set in the environment, each as `CADS_LIMIT_<NAME>` (`liveConnectionsPerUser`
 * is `CADS_LIMIT_LIVE_CONNECTIONS_PER_USER`); a usage problem as a string.
 */
function limitSettings(env: NodeJS.ProcessEnv): Partial<BffLimits> | string {
  const limits: Partial<Record<keyof BffLimits, number>> = {};
  for (const key of Object.keys(defaultLimits) as (keyof BffLimits)[]) {
    const name = `CADS_LIMIT_${key.replace(/[A-Z]/g, (letter) => `_${letter}`).toUpperCase()}`;
    const text = env[name];
    if (text === undefined || text === '') continue;
    const value = Number(text);
    if (!Number.isInteger(value) || value < 1)
      return `${name} must be a positive integer, got ${JSON.stringify(text)}`;
    limits[key] = value;
  }
  return limits;
}

function fail(message: string): number {
  process.stderr.write(`cads: ${message}\n\n${usage}`);
  return 2;
}

async function untilSignal(): Promise<void> {
  await new Promise<void>((resolveStop) => {
    process.once('SIGINT', resolveStop);
    process.once('SIGTERM', resolveStop);
  });
}

async function main(argv: string[]): Promise<number> {
  // Operator commands parse their own options.
  if (argv[0] === 'dlq') return runDlq(argv.slice(1), processIo());
  if (argv[0] === 'reconcile') return runReconcile(argv.slice(1), processIo());
  if (argv[0] === 'saga') return runSaga(argv.slice(1), processIo());
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      data: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, argument] = positionals;
  if (values.help || !command) {
    process.stdout.write(usage);
    return command || values.help ? 0 : 2;
  }
  const port = Number(values.port ?? process.env.CADS_PORT ?? 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    return fail('--port must be an integer from 0 to 65535');
  const host = values.host ?? process.env.CADS_HOST ?? '127.0.0.1';
  const logger = pino({ level: process.env.CADS_LOG_LEVEL ?? 'info' });
  const transport = process.env.CADS_FRONT_CONNECTION_TYPE ?? process.env.FRONT_CONNECTION_TYPE;
  if (transport !== undefined && transport !== 'sse' && transport !== 'ws')
    return fail(`FRONT_CONNECTION_TYPE must be sse or ws, got ${JSON.stringify(transport)}`);
  const outage = outageSettings(process.env);
  if (typeof outage === 'string') return fail(outage);
  const generatedToken = process.env.CADS_ADMIN_TOKEN ? undefined : randomBytes(16).toString('hex');
  const adminToken = process.env.CADS_ADMIN_TOKEN ?? generatedToken ?? '';

  if (command === 'start') {
    const dataDir = resolve(values.data ?? process.env.CADS_DATA_DIR ?? '.cads/data');
    logger.info({ dataDir }, 'opening the embedded database (the first start initialises it)');
    const system = await startEmbedded({
      dataDir,
      logger,
      adminToken,
      host,
      basePort: port,
      ...(transport ? { transport } : {}),
      ...(process.env.CADS_SESSION_SECRET
        ? { sessionSecret: process.env.CADS_SESSION_SECRET }
        : {}),
      ...(process.env.CADS_INTERNAL_SECRET
        ? { internalSecret: process.env.CADS_INTERNAL_SECRET }
        : {}),
      ...outage,
    });
    const lines = serviceNames.map((name) => `  ${name.padEnd(14)} ${system.urls[name]}`);
    process.stdout.write(
      `\nCADS is running (embedded, data in ${dataDir}):\n${lines.join('\n')}\n\n` +
        `Open ${system.urls.bff}/ and place an order.\n` +
        (generatedToken
          ? `Admin token of this run (externals config, the BFF's /metrics): ${generatedToken}\n`
          : '') +
        '\n',
    );
    await untilSignal();
    logger.info('stopping');
    await system.stop();
    return 0;
  }

  if (command === 'run') {
    const services = (argument ?? '').split(',');
    if (!argument || !services.every(isServiceName) || new Set(services).size < services.length)
      return fail(
        `run needs a service, or several separated by commas: ${serviceNames.join(', ')}`,
      );
    const databaseUrl = process.env.CADS_DATABASE_URL;
    const brokerUrl = process.env.CADS_BROKER_URL;
    if (!databaseUrl || !brokerUrl) return fail('run needs CADS_DATABASE_URL and CADS_BROKER_URL');
    if (services.length > 1 && !databaseUrl.includes(serviceMark))
      return fail(
        `run with several services needs ${serviceMark} in CADS_DATABASE_URL (each service keeps its own database), e.g. postgres://host/cads_${serviceMark}`,
      );
    const databasePool = Number(process.env.CADS_DATABASE_POOL ?? 10);
    if (!Number.isInteger(databasePool) || databasePool < 1)
      return fail('CADS_DATABASE_POOL must be a positive integer');
    const sessionSecret = process.env.CADS_SESSION_SECRET ?? '';
    if (services.includes('bff') && sessionSecret.length < 32)
      return fail('the bff needs CADS_SESSION_SECRET (at least 32 characters)');
    const bffLimits = limitSettings(process.env);
    if (typeof bffLimits === 'string') return fail(bffLimits);
    const internalSecret = process.env.CADS_INTERNAL_SECRET ?? '';
    if (internalSecret.length < 32)
      return fail(
        'run needs CADS_INTERNAL_SECRET (at least 32 characters, the same in every process): it signs the calls between services',
      );
    const running = await runServices({
      // The services listen on --port, --port + 1, … in the order given.
      services: services.map((service, index) => ({
        service,
        databaseUrl: databaseUrl.replaceAll(serviceMark, service),
        port: port === 0 ? 0 : port + index,
      })),
      brokerUrl,
      databasePool,
      settings: {
        externalsUrl: process.env.CADS_EXTERNALS_URL ?? 'http://127.0.0.1:3001',
        orderUrl: process.env.CADS_ORDER_URL ?? 'http://127.0.0.1:3003',
        notificationsUrl: process.env.CADS_NOTIFICATIONS_URL ?? 'http://127.0.0.1:3002',
        adminToken,
        sessionSecret,
        internalSecret,
        secureCookies: process.env.CADS_SECURE_COOKIES === 'true',
        bffLimits,
        ...(transport ? { transport } : {}),
        ...(process.env.CADS_WEB_ROOT ? { webRoot: process.env.CADS_WEB_ROOT } : {}),
        ...outage,
      },
      host,
      logger: logger.child({ pid: process.pid }),
    });
    for (const { service, url } of running.services) {
      logger.info({ service: service.name, url }, 'service running');
    }
    await untilSignal();
    await running.stop();
    return 0;
  }

  if (command === 'docs') {
    const root = new URL('../../../', import.meta.url);
    const { version } = JSON.parse(await readFile(new URL('package.json', root), 'utf8')) as {
      version: string;
    };
    await writeApiDocuments(root, await buildApiDocuments(version));
    process.stdout.write('wrote docs/asyncapi.json and docs/openapi/*.json\n');
    return 0;
  }

  if (command === 'cluster') {
    const cluster = await startCluster({
      postgresUrl: process.env.CADS_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
      natsUrl: process.env.CADS_NATS_URL ?? 'nats://127.0.0.1:4222',
      adminToken,
      host,
      basePort: port,
      logger,
      databasePrefix: process.env.CADS_DATABASE_PREFIX,
    });
    logger.info('waiting for every process to be ready');
    try {
      await untilClusterReady(cluster);
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    const lines = cluster
      .processes()
      .map(({ service, instance, url }) => `  ${`${service}#${instance + 1}`.padEnd(16)} ${url}`);
    process.stdout.write(
      `\nCADS cluster: every service as its own processes on PostgreSQL and NATS JetStream\n` +
        `${lines.join('\n')}\n  ${'entry (bff)'.padEnd(16)} ${cluster.urls.bff} (round robin)\n\n` +
        `Open ${cluster.urls.bff}/ and place an order.\n` +
        (generatedToken
          ? `Admin token of this run (externals config, the BFF's /metrics): ${generatedToken}\n`
          : '') +
        '\n',
    );
    await untilSignal();
    await cluster.stop();
    return 0;
  }

  return fail(`unknown command ${JSON.stringify(command)}`);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    // An operator error says what happened and what to do: its stack would only hide that.
    const inUse = (error as { code?: unknown }).code;
    const text =
      error instanceof OperatorError
        ? error.message
        : inUse === 'EADDRINUSE'
          ? `${(error as Error).message}: another process listens there; stop it or choose another port (--port, CADS_PORT)`
          : error instanceof Error
            ? (error.stack ?? error.message)
            : String(error);
    // Exit now: a start that failed half-way may leave handles open (a pool, a broker client
    // reconnecting) that would keep a process alive that serves nothing, which no supervisor
    // would ever restart.
    process.stderr.write(`cads: ${text}\n`, () => process.exit(1));
  },
);
