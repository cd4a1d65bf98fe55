import { mkdir } from 'node:fs/promises';
import { createHttpApp, type HttpApp } from '@cads/http';
import { createPostgresBroker, type PostgresBroker } from '@cads/messaging-postgres';
import { openPglite, type PgliteHost } from '@cads/storage-pglite';
import type { Logger } from 'pino';

export interface EmbeddedRuntimeOptions {
  /** Where PGlite keeps its data; created if missing. */
  readonly dataDir: string;
  readonly logger: Logger;
  readonly version: string;
}

export interface EmbeddedRuntime {
  readonly app: HttpApp;
  readonly broker: PostgresBroker;
  readonly host: PgliteHost;
  close(): Promise<void>;
}

/**
 * The embedded composition root: one PGlite instance (data kept in `dataDir`), the durable
 * event log in its `cads_broker` schema, and the operational HTTP surface. Services join it in
 * their own schemas of the same instance.
 */
export async function buildEmbeddedRuntime(
  options: EmbeddedRuntimeOptions,
): Promise<EmbeddedRuntime> {
  await mkdir(options.dataDir, { recursive: true });
  const host = await openPglite({ dataDir: options.dataDir });
  const brokerDb = await host.database('cads_broker');
  const broker = await createPostgresBroker({ db: brokerDb, log: options.logger });
  const app = await createHttpApp({
    service: 'cads',
    version: options.version,
    logger: options.logger,
    readiness: {
      database: async () => {
        await brokerDb.query('select 1');
      },
    },
    openapi: { title: 'CADS', description: 'Embedded runtime: every service in one process.' },
  });
  return {
    app,
    broker,
    host,
    async close() {
      await app.close();
      await broker.close();
      await host.close();
    },
  };
}
