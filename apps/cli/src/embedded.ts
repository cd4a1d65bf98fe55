import { mkdir } from 'node:fs/promises';
import { createPostgresBroker } from '@cads/messaging-postgres';
import { openPglite } from '@cads/storage-pglite';
import type { Logger } from 'pino';
import { type RunningSystem, startSystem } from './system.ts';

export interface EmbeddedOptions {
  /** Where PGlite keeps its data; created if missing. */
  readonly dataDir: string;
  readonly logger: Logger;
  readonly adminToken: string;
  readonly host: string;
  readonly basePort: number;
}

/**
 * The embedded mode: one PGlite instance with its data on disk, the durable event log in its
 * `cads_broker` schema, and every service in its own schema, all in this process.
 */
export async function startEmbedded(options: EmbeddedOptions): Promise<RunningSystem> {
  await mkdir(options.dataDir, { recursive: true });
  const host = await openPglite({ dataDir: options.dataDir });
  const broker = await createPostgresBroker({
    db: await host.database('cads_broker'),
    log: options.logger,
    retentionMs: 7 * 24 * 3_600_000,
  });
  try {
    const system = await startSystem({
      databaseFor: (service) => host.database(service),
      broker,
      logger: options.logger,
      adminToken: options.adminToken,
      host: options.host,
      basePort: options.basePort,
    });
    return {
      ...system,
      async stop() {
        await system.stop();
        await broker.close();
        await host.close();
      },
    };
  } catch (error) {
    await broker.close();
    await host.close();
    throw error;
  }
}
