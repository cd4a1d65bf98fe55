import type { LiveTransport } from '@cads/bff/contracts';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createPostgresBroker } from '@cads/messaging-postgres';
import { openPglite } from '@cads/storage-pglite';
import type { Logger } from 'pino';
import { type RunningSystem, startSystem } from './system.ts';

export interface EmbeddedOptions {
  /** Where PGlite keeps its data; created if missing. */
  readonly dataDir: string;
  readonly logger: Logger;
  readonly adminToken: string;
  /** Signs the BFF's sessions. Default: a secret kept in `dataDir`, so sessions survive restarts. */
  readonly sessionSecret?: string;
  readonly transport?: LiveTransport;
  readonly host: string;
  readonly basePort: number;
}

/**
 * The embedded mode: one PGlite instance with its data on disk, the durable event log in its
 * `cads_broker` schema, and every service in its own schema, all in this process. As the log
 * shares the database, services append their events to it in their own transactions: the log
 * is their outbox, with no relay and no second copy.
 */
export async function startEmbedded(options: EmbeddedOptions): Promise<RunningSystem> {
  await mkdir(options.dataDir, { recursive: true });
  const host = await openPglite({ dataDir: options.dataDir });
  const broker = await createPostgresBroker({
    db: await host.database('cads_broker'),
    log: options.logger,
    retentionMs: 7 * 24 * 3_600_000,
    // Every delivery is a row inserted, claimed and deleted: under load the dead rows slow the
    // fetches within seconds, and PGlite has no autovacuum.
    vacuumIntervalMs: 5_000,
    // Every statement waits for the one thread PGlite runs on: fewer, fuller fetches leave more
    // of it to the services (the saga benchmark gains ≈ 20 % for ≤ 10 ms per delivery).
    fetchIntervalMs: 10,
  });
  try {
    const system = await startSystem({
      databaseFor: (service) => host.database(service),
      broker,
      outbox: { enqueue: (tx, messages) => broker.appendWithin(tx, messages), committed() {} },
      logger: options.logger,
      adminToken: options.adminToken,
      sessionSecret: options.sessionSecret ?? (await storedSecret(options.dataDir)),
      ...(options.transport ? { transport: options.transport } : {}),
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

/** The session secret kept beside the data (created on first start, readable by its owner only). */
async function storedSecret(dataDir: string): Promise<string> {
  const path = join(dataDir, 'session-secret');
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    const secret = randomBytes(32).toString('base64url');
    await writeFile(path, `${secret}\n`, { mode: 0o600, flag: 'wx' }).catch(
      (writeError: NodeJS.ErrnoException) => {
        if (writeError.code !== 'EEXIST') throw writeError;
      },
    );
    return (await readFile(path, 'utf8')).trim();
  }
}
