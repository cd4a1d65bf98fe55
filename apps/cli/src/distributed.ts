import type { Broker } from '@cads/messaging';
import { createNatsBroker } from '@cads/messaging-nats';
import { createPostgresBroker } from '@cads/messaging-postgres';
import { createService, type Service } from '@cads/service';
import type { Database } from '@cads/storage';
import { openPostgresDatabase } from '@cads/storage-postgres';
import type { Logger } from 'pino';
import { definitionOf, type ServiceName, type ServiceSettings } from './system.ts';

export interface RunOptions {
  readonly service: ServiceName;
  /** The service's own PostgreSQL database. */
  readonly databaseUrl: string;
  /** `nats://…` for JetStream, or `postgres://…` for the event log on a PostgreSQL server. */
  readonly brokerUrl: string;
  /** How the service is configured (the URLs of those it calls, credentials). */
  readonly settings: ServiceSettings;
  readonly host: string;
  readonly port: number;
  readonly logger: Logger;
  /** Connections of the service's database pool at most. Default 10. */
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

/** The distributed mode's composition root: one service in this process. */
export async function runService(options: RunOptions): Promise<RunningService> {
  const db: Database = await openPostgresDatabase({
    connectionString: options.databaseUrl,
    applicationName: `cads-${options.service}`,
    ...(options.databasePool ? { maxConnections: options.databasePool } : {}),
  });
  const opened = await openBroker(options.brokerUrl, options.logger);
  const service = await createService(definitionOf(options.service, options.settings), {
    db,
    broker: opened.broker,
    logger: options.logger,
  });
  await service.start();
  const url = await service.app.listen({ host: options.host, port: options.port });
  return {
    service,
    url,
    async stop() {
      await service.stop();
      await opened.close();
      await db.close();
    },
  };
}
