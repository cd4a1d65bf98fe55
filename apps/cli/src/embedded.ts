import type { LiveTransport } from '@cads/bff/contracts';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PostgresBroker } from '@cads/messaging-postgres';
import { openEmbeddedLog } from '@cads/service/embedded';
import type { Logger } from 'pino';
import { type EmbeddedData, openEmbeddedData } from './embedded-data.ts';
import { type RunningSystem, type ServiceSettings, startSystem } from './system.ts';

export interface EmbeddedOptions {
  /** Where PGlite keeps its data; created if missing (owner-only). */
  readonly dataDir: string;
  readonly logger: Logger;
  readonly adminToken: string;
  /** Signs the BFF's sessions. Default: a secret kept in `dataDir`, so sessions survive restarts. */
  readonly sessionSecret?: string;
  /** Signs the internal calls' service tokens. Default: a secret kept in `dataDir`. */
  readonly internalSecret?: string;
  /** How the consumers wait out outages, and the steps' deadline for an unreachable system. */
  readonly outage?: ServiceSettings['outage'];
  readonly unreachableTimeoutMs?: number;
  /** The time an order has to end (see `ServiceSettings.sagaDeadlineMs`). */
  readonly sagaDeadlineMs?: number;
  readonly transport?: LiveTransport;
  readonly host: string;
  readonly basePort: number;
}

/**
 * The embedded mode: one PGlite instance with its data on disk, the durable event log in its
 * `cads_broker` schema, and every service in its own schema, all in this process. As the log
 * shares the database, services append their events to it in their own transactions: the log
 * is their outbox, with no relay and no second copy.
 *
 * The data directory is this process's alone until `stop` (another process on it is refused
 * before PGlite opens it; see `openEmbeddedData`), and readable by its owner only: the process
 * runs with umask 0o077 meanwhile, and what an earlier version left open to others is repaired.
 * Failures to open it are `OperatorError`s saying why in one line.
 */
export async function startEmbedded(options: EmbeddedOptions): Promise<RunningSystem> {
  // The directory holds every order, and the secret that signs the sessions: whatever umask
  // the process was started with, nothing it creates there may be readable by other users.
  const umask = process.umask(0o077);
  let data: EmbeddedData | undefined;
  let broker: PostgresBroker | undefined;
  const close = async () => {
    try {
      await broker?.close();
    } finally {
      try {
        await data?.close();
      } finally {
        process.umask(umask);
      }
    }
  };
  try {
    data = await openEmbeddedData(options.dataDir, {
      create: true,
      onStaleLock: ({ path, owner }) =>
        options.logger.warn(
          { lock: path, owner },
          'the data directory was locked by a process that is gone: taking it over',
        ),
    });
    const { host } = data;
    const embedded = await openEmbeddedLog(host, options.logger, {
      retentionMs: 7 * 24 * 3_600_000,
      // PGlite runs one statement at a time (on its own thread): fewer, fuller fetches leave more
      // of it to the services (the saga benchmark gained ≈ 20 % for ≤ 10 ms per delivery).
      fetchIntervalMs: 10,
    });
    // Whatever a crashed predecessor held resumed above, not when its leases lapse (the
    // directory lock guarantees no live process holds any).
    broker = embedded.eventLog;
    const system = await startSystem({
      databaseFor: (service) => host.database(service),
      broker: embedded.eventLog,
      outbox: embedded.outbox,
      logger: options.logger,
      adminToken: options.adminToken,
      sessionSecret:
        options.sessionSecret ?? (await storedSecret(options.dataDir, 'session-secret')),
      internalSecret:
        options.internalSecret ?? (await storedSecret(options.dataDir, 'internal-secret')),
      ...(options.outage ? { outage: options.outage } : {}),
      ...(options.unreachableTimeoutMs === undefined
        ? {}
        : { unreachableTimeoutMs: options.unreachableTimeoutMs }),
      ...(options.sagaDeadlineMs === undefined ? {} : { sagaDeadlineMs: options.sagaDeadlineMs }),
      ...(options.transport ? { transport: options.transport } : {}),
      host: options.host,
      basePort: options.basePort,
    });
    return {
      ...system,
      async stop() {
        try {
          await system.stop();
        } finally {
          await close();
        }
      },
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** A secret kept beside the data (created on first start, readable by its owner only). */
async function storedSecret(dataDir: string, name: string): Promise<string> {
  const path = join(dataDir, name);
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
