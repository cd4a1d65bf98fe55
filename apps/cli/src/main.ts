#!/usr/bin/env node
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { buildEmbeddedRuntime } from './embedded-runtime.ts';

const usage = `Usage: cads <command> [options]

Commands:
  start            run the embedded runtime (PGlite + the Postgres event log) in this process

Options:
  --port <n>       HTTP port (default: $CADS_PORT or 3000; 0 picks a free one)
  --host <addr>    address to listen on (default: $CADS_HOST or 127.0.0.1)
  --data <dir>     data directory (default: $CADS_DATA_DIR or .cads/data)
  -h, --help       show this help
`;

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
  const [command] = positionals;
  if (values.help || !command) {
    process.stdout.write(usage);
    return command || values.help ? 0 : 2;
  }
  if (command !== 'start') {
    process.stderr.write(`cads: unknown command ${JSON.stringify(command)}\n\n${usage}`);
    return 2;
  }

  const port = Number(values.port ?? process.env.CADS_PORT ?? 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    process.stderr.write(`cads: --port must be an integer between 0 and 65535\n`);
    return 2;
  }
  const host = values.host ?? process.env.CADS_HOST ?? '127.0.0.1';
  const dataDir = resolve(values.data ?? process.env.CADS_DATA_DIR ?? '.cads/data');
  const logger = pino({ level: process.env.CADS_LOG_LEVEL ?? 'info' });
  const { version } = JSON.parse(
    await readFile(new URL('../package.json', import.meta.url), 'utf8'),
  ) as { version: string };

  logger.info({ dataDir }, 'opening the embedded database (the first start initialises it)');
  const runtime = await buildEmbeddedRuntime({ dataDir, logger, version });
  const address = await runtime.app.listen({ port, host });
  process.stdout.write(
    `\nCADS is running: ${address}\n  health ${address}/health · metrics ${address}/metrics · API ${address}/openapi.json\n\n`,
  );

  await new Promise<void>((resolveStop) => {
    process.once('SIGINT', resolveStop);
    process.once('SIGTERM', resolveStop);
  });
  logger.info('stopping');
  await runtime.close();
  return 0;
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
