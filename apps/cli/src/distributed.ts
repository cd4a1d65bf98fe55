import type { Broker } from '@cads/messaging';
import { createNatsBroker } from '@cads/messaging-nats';
import { createPostgresBroker } from '@cads/messaging-postgres';
import { createService, type Service } from '@cads/service';
import type { Database } from '@cads/storage';
import { openPostgresDatabase } from '@cads/storage-postgres';
import type { Logger } from 'pino';
import { definitionOf, type ServiceName, type ServiceSettings } from './system.ts';

export interface RunOptions {
  /**
   * The services this process runs, each on its own database and port. One is the default
   * deployment; several share the process and its broker connection (a small deployment on
   * few cores pays one process's overhead instead of one per service), and each keeps its own
   * database, consumer, outbox and contracts.
   */
  readonly services: readonly {
    readonly service: ServiceName;
    /** The service's own PostgreSQL database. */
    readonly databaseUrl: string;
    readonly port: number;
  }[];
  /** `nats://…` for JetStream, or `postgres://…` for the event log on a PostgreSQL server. */
  readonly brokerUrl: string;
  /** How the services are configured (the URLs of those they call, credentials). */
  readonly settings: ServiceSettings;
  readonly host: string;
  readonly logger: Logger;
  /** Connections of each service's database pool at most. Default 10. */
  readonly databasePool?: number;
}

export interface RunningService {
  readonly service: Service;
  readonly url: string;
  stop(): Promise<void>;
}

/** Opens the broker a URL names. */
export async function openBroker(
  url: string,
  logger: Logger,
): Promise<{ broker: Broker; close(): Promise<void> }> {
  if (url.startsWith('nats://') || url.startsWith('tls://')) {
    // A dedicated stream (and subjects, which streams cannot share) keeps e.g. a benchmark's
    // events apart from a deployment's on the same server.
    const broker = await createNatsBroker({
      servers: url,
      stream: process.env.CADS_NATS_STREAM || undefined,
      subjectPrefix: process.env.CADS_NATS_SUBJECT_PREFIX || undefined,
      log: logger,
    });
    return { broker, close: () => broker.close() };
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    const db = await openPostgresDatabase({
      connectionString: url,
      schema: 'cads_broker',
      maxConnections: 4,
    });
    const broker = await createPostgresBroker({ db, log: logger });
    return {
      broker,
      async close() {
        await broker.close();
        await db.close();
      },
    };
  }
  throw new Error(
    `CADS_BROKER_URL must start with nats:// or postgres://, got ${JSON.stringify(url)}`,
  );
}

/**
 * The distributed mode's composition root: the given services in this process, each started
 * (migrations, consumer, relay) and then listening. Stops, last started first, whatever it
 * started when one fails to start, and rejects.
 */
export async function runServices(options: RunOptions): Promise<RunningProcess> {
  const opened = await openBroker(options.brokerUrl, options.logger);
  const running: RunningService[] = [];
  const stop = async () => {
    for (const one of running.splice(0).reverse()) await one.stop();
    await opened.close();
  };
  try {
    for (const { service, databaseUrl, port } of options.services) {
      const db: Database = await openPostgresDatabase({
        connectionString: databaseUrl,
        applicationName: `cads-${service}`,
        ...(options.databasePool ? { maxConnections: options.databasePool } : {}),
      });
      const built = await createService(definitionOf(service, options.settings), {
        db,
        broker: opened.broker,
        logger: options.logger,
      }).catch(async (error: unknown) => {
        await db.close();
        throw error;
      });
      const one: RunningService = {
        service: built,
        url: '',
        async stop() {
          await built.stop();
          await db.close();
        },
      };
      running.push(one);
      await built.start();
      const url = await built.app.listen({ host: options.host, port });
      running[running.length - 1] = { ...one, url };
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { services: [...running], stop };
}

/** What `runServices` started. */
export interface RunningProcess {
  readonly services: readonly RunningService[];
  stop(): Promise<void>;
}
