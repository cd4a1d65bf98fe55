import type { Outbox } from '@cads/consumer';
import {
  createPostgresBroker,
  type PostgresBroker,
  type PostgresBrokerOptions,
} from '@cads/messaging-postgres';
import type { Message } from '@cads/messaging';
import type { Database, Transaction } from '@cads/storage';
import { openPglite, type PgliteHost } from '@cads/storage-pglite';
import type { Logger } from 'pino';
import { createService, type Service, type ServiceDefinition } from './service.ts';

export interface EmbeddedOptions {
  /**
   * Where PGlite keeps its data; in memory when absent. PGlite takes no lock: no other process
   * may open the directory while this one runs.
   */
  readonly dataDir?: string;
  readonly logger: Logger;
  /** The interface services listen on. Default `127.0.0.1`. */
  readonly host?: string;
}

export interface EmbeddedService {
  readonly service: Service;
  /** The service's own database: its schema of the shared PGlite. */
  readonly db: Database;
  /** Where it listens, e.g. `http://127.0.0.1:3000`; undefined when it was given no port. */
  readonly url: string | undefined;
}

export interface EmbeddedSystem {
  /**
   * Builds the service in its own schema (named after it), starts it (migrations, consumer,
   * `run`) and, given a port, listens on it (0: a free one).
   */
  run(
    definition: ServiceDefinition,
    options?: { readonly port?: number },
  ): Promise<EmbeddedService>;
  /**
   * Stops the services, last started first (each drains what it received), then the log and
   * PGlite. Called again, it returns the first call's promise.
   */
  stop(): Promise<void>;
}

/**
 * Runs services in this process on one PGlite, with the durable event log (`cads_broker`
 * schema) as their broker: the smallest way to run a set of service definitions.
 *
 * Guarantees: as the log shares the database, each service appends its events to the log in
 * the transaction that produced them (the log is its outbox: no relay, no dual write), so
 * events are delivered at least once and handled effectively once, as on a server. With a
 * `dataDir`, a restart resumes what was in flight: deliveries a crashed process had claimed
 * are given back at once, and armed deadlines still fire. A `run` that fails leaves the system
 * open for `stop`.
 */
export async function openEmbedded(options: EmbeddedOptions): Promise<EmbeddedSystem> {
  const host = options.host ?? '127.0.0.1';
  const pglite: PgliteHost = await openPglite(
    options.dataDir === undefined ? {} : { dataDir: options.dataDir },
  );
  const { eventLog, outbox } = await openEmbeddedLog(pglite, options.logger).catch(
    async (error: unknown) => {
      await pglite.close();
      throw error;
    },
  );
  const running: Service[] = [];
  let stopping: Promise<void> | undefined;

  return {
    async run(definition, { port } = {}) {
      const db = await pglite.database(definition.name);
      const service = await createService(definition, {
        db,
        broker: eventLog,
        logger: options.logger,
        outbox,
      });
      running.push(service);
      await service.start();
      const url = port === undefined ? undefined : await service.app.listen({ host, port });
      return { service, db, url };
    },
    stop() {
      stopping ??= (async () => {
        try {
          for (const service of running.splice(0).reverse()) await service.stop();
        } finally {
          try {
            await eventLog.close();
          } finally {
            await pglite.close();
          }
        }
      })();
      return stopping;
    },
  };
}

/** The event log of an embedded system, and the outbox that appends to it. */
export interface EmbeddedLog {
  readonly eventLog: PostgresBroker;
  /** Appends a transaction's events to the log in that transaction (the log shares the database). */
  readonly outbox: Outbox;
}

/**
 * The durable event log in the `cads_broker` schema of `pglite`, tuned for one process on
 * PGlite's single connection, with whatever a crashed predecessor had claimed given back at
 * once; and the outbox that appends to it. `tuning` overrides the log's settings.
 */
export async function openEmbeddedLog(
  pglite: PgliteHost,
  logger: Logger,
  tuning: Partial<Omit<PostgresBrokerOptions, 'db' | 'log'>> = {},
): Promise<EmbeddedLog> {
  const eventLog = await createPostgresBroker({
    db: await pglite.database('cads_broker'),
    log: logger,
    // Every delivery is a row inserted, claimed and deleted, and PGlite has no autovacuum.
    vacuumIntervalMs: 5_000,
    // One process consumes this log: a lease only has to outlast a queue of statements on
    // PGlite's single connection, since a dead predecessor's claims are given back at once.
    minimumAckTimeoutMs: 30_000,
    ...tuning,
  });
  await eventLog.releaseAbandonedClaims().catch(async (error: unknown) => {
    await eventLog.close();
    throw error;
  });
  return {
    eventLog,
    outbox: {
      enqueue: (tx: Transaction, messages: readonly Message[]) =>
        eventLog.appendWithin(tx, messages),
      committed() {},
    },
  };
}
