#!/usr/bin/env -S node --import tsx
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { buildApiDocuments, writeApiDocuments } from './api-docs.ts';
import { startCluster } from './cluster.ts';
import { runService } from './distributed.ts';
import { startEmbedded } from './embedded.ts';
import { isServiceName, serviceNames } from './system.ts';

const usage = `Usage: cads <command> [options]

Commands:
  start              every service in this process on PGlite and the embedded event log
                     (data kept in --data)
  run <service>      one service in this process, from the environment:
                       CADS_DATABASE_URL  its PostgreSQL database (required)
                       CADS_BROKER_URL    nats://… (JetStream) or postgres://… (event log) (required)
                       CADS_EXTERNALS_URL where the external systems answer (restaurant, rider, payment)
  docs               write docs/asyncapi.json and docs/openapi/<service>.json from the code
  cluster            every service as its own process on PostgreSQL (a database per service)
                     and NATS JetStream, restarted when it dies:
                       CADS_POSTGRES_URL  admin connection (default postgres://postgres@127.0.0.1:5432/postgres)
                       CADS_NATS_URL      default nats://127.0.0.1:4222
                       CADS_DATABASE_PREFIX      databases <prefix>_<service> (default cads)
                       CADS_NATS_STREAM          stream (default CADS; also read by run)
                       CADS_NATS_SUBJECT_PREFIX  subjects <prefix>.<type> (default cads; also read by run)

Services: ${serviceNames.join(', ')}

Options:
  --port <n>         first port; services take the next ones in the order above
                     (default: $CADS_PORT or 3000; 0 picks free ports, start only)
  --host <addr>      listen address (default: $CADS_HOST or 127.0.0.1)
  --data <dir>       data directory of \`start\` (default: $CADS_DATA_DIR or .cads/data)
  -h, --help         show this help

The admin credential of the externals' config is $CADS_ADMIN_TOKEN (a random one is made and
printed when it is not set).
`;

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
  const generatedToken = process.env.CADS_ADMIN_TOKEN ? undefined : randomBytes(16).toString('hex');
  const adminToken = process.env.CADS_ADMIN_TOKEN ?? generatedToken ?? '';

  if (command === 'start') {
    const dataDir = resolve(values.data ?? process.env.CADS_DATA_DIR ?? '.cads/data');
    logger.info({ dataDir }, 'opening the embedded database (the first start initialises it)');
    const system = await startEmbedded({ dataDir, logger, adminToken, host, basePort: port });
    const lines = serviceNames.map((name) => `  ${name.padEnd(14)} ${system.urls[name]}`);
    process.stdout.write(
      `\nCADS is running (embedded, data in ${dataDir}):\n${lines.join('\n')}\n\n` +
        `Place an order:\n  curl -X POST ${system.urls.order}/api/orders -H 'content-type: application/json' -H 'x-user-id: demo' \\\n` +
        `    -d '{"restaurantId":"48hbfe4","cart":[{"itemId":"p01","amount":3},{"itemId":"p02","amount":2}]}'\n` +
        `then follow it: curl ${system.urls.order}/api/orders/<orderId>\n` +
        (generatedToken ? `Admin token of this run (externals config): ${generatedToken}\n` : '') +
        '\n',
    );
    await untilSignal();
    logger.info('stopping');
    await system.stop();
    return 0;
  }

  if (command === 'run') {
    if (!argument || !isServiceName(argument))
      return fail(`run needs a service: ${serviceNames.join(', ')}`);
    const databaseUrl = process.env.CADS_DATABASE_URL;
    const brokerUrl = process.env.CADS_BROKER_URL;
    if (!databaseUrl || !brokerUrl) return fail('run needs CADS_DATABASE_URL and CADS_BROKER_URL');
    const running = await runService({
      service: argument,
      databaseUrl,
      brokerUrl,
      externalsUrl: process.env.CADS_EXTERNALS_URL ?? 'http://127.0.0.1:3000',
      adminToken,
      host,
      port,
      logger: logger.child({ pid: process.pid }),
    });
    logger.info({ service: argument, url: running.url }, 'service running');
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
    const lines = serviceNames.map((name) => `  ${name.padEnd(14)} ${cluster.urls[name]}`);
    process.stdout.write(
      `\nCADS cluster: one process per service on PostgreSQL and NATS JetStream\n${lines.join('\n')}\n` +
        (generatedToken ? `Admin token of this run (externals config): ${generatedToken}\n` : '') +
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
    process.stderr.write(
      `cads: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  },
);
