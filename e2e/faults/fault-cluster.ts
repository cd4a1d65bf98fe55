import { randomUUID } from 'node:crypto';
import {
  clusterPortSpan,
  type ClusterHolds,
  type ClusterOptions,
  type RunningCluster,
  startCluster,
} from '@cads/cli/cluster';
import { serviceNames, type ServiceName } from '@cads/cli/system';
import { waitFor } from '@cads/messaging/testing';
import { createNatsBroker, type NatsBroker } from '@cads/messaging-nats';
import { type Database, isDatabaseUnavailable, type Queryable } from '@cads/storage';
import { openPostgresDatabase } from '@cads/storage-postgres';
import pino from 'pino';
import { freePortRange } from '../saga/free-ports.ts';
import { adminToken, internalSecret } from '../saga/system-harness.ts';
import { type OwnNatsServer, startOwnNatsServer } from './nats-server.ts';
import { type OwnPostgresServer, startOwnPostgresServer } from './postgres-server.ts';
import { startTcpLink, type TcpLink } from './tcp-link.ts';

export interface FaultClusterOptions {
  /** Services whose processes reach their database through a link the suite can cut. */
  readonly linked?: readonly ServiceName[];
  readonly instances?: ClusterOptions['instances'];
}

/**
 * The cluster (`startCluster`: every service its own processes) on servers of its own, which a
 * suite may crash and cut at will: a PostgreSQL for the CADS services' databases, a NATS, and
 * a second PostgreSQL for the externals mock's database. The mock stands for the restaurants',
 * riders' and bank's systems, which do not share our database server: when ours crashes, theirs
 * keeps answering.
 */
export interface FaultCluster {
  readonly cluster: RunningCluster & ClusterHolds;
  /** The CADS services' database server. */
  readonly postgres: OwnPostgresServer;
  readonly nats: OwnNatsServer;
  /** The links of `FaultClusterOptions.linked`. */
  readonly links: Partial<Record<ServiceName, TcpLink>>;
  /**
   * The suite's own connection to each service's database (directly, never through a link). A
   * query that meets a database outage is retried for up to a minute.
   */
  readonly databases: Readonly<Record<ServiceName, Database>>;
  /** A client of the cluster's stream, to publish what no service would. */
  readonly broker: NatsBroker;
  /** Stops every process and server and removes their data. */
  stop(): Promise<void>;
}

export async function startFaultCluster(options: FaultClusterOptions = {}): Promise<FaultCluster> {
  const tag = `f${randomUUID().replaceAll('-', '').slice(0, 10)}`;
  const cleanups: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      await cleanup().catch((error: unknown) => console.error('fault cluster clean-up:', error));
    }
  };
  try {
    const servers = await Promise.allSettled([
      startOwnPostgresServer(),
      startOwnPostgresServer(),
      startOwnNatsServer(),
    ]);
    for (const server of servers) {
      if (server.status === 'fulfilled') cleanups.push(() => server.value.stop());
    }
    const [postgres, outsideWorld, nats] = servers.map((server) => {
      if (server.status === 'rejected') throw server.reason;
      return server.value;
    }) as [OwnPostgresServer, OwnPostgresServer, OwnNatsServer];
    const links: Partial<Record<ServiceName, TcpLink>> = {};
    const postgresUrls: Partial<Record<ServiceName, string>> = { externals: outsideWorld.url };
    for (const service of options.linked ?? []) {
      const link = await startTcpLink(Number(new URL(postgres.url).port));
      cleanups.push(() => link.close());
      links[service] = link;
      const url = new URL(postgres.url);
      url.port = String(link.port);
      postgresUrls[service] = url.toString();
    }

    const cluster = await startCluster({
      postgresUrl: postgres.url,
      postgresUrls,
      natsUrl: nats.url,
      adminToken,
      internalSecret,
      host: '127.0.0.1',
      basePort: await freePortRange(clusterPortSpan),
      logger: pino({ level: process.env.CADS_TEST_LOG_LEVEL ?? 'silent' }),
      logLevel: process.env.CADS_TEST_LOG_LEVEL ?? 'fatal',
      databasePrefix: tag,
      natsStream: tag.toUpperCase(),
      natsSubjectPrefix: tag,
      ...(options.instances ? { instances: options.instances } : {}),
    });
    cleanups.push(async () => {
      // A process that does not finish its graceful shutdown in a minute is killed, so the
      // servers after it are stopped and nothing is left running.
      let timer: NodeJS.Timeout | undefined;
      const stopped = await Promise.race([
        cluster.stop().then(() => true),
        new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), 60_000))),
      ]);
      clearTimeout(timer);
      if (stopped) return;
      console.error('fault cluster clean-up: processes still running after 60 s; killing them');
      for (const p of cluster.processes()) cluster.kill(p.service, p.instance, 'SIGKILL');
    });
    for (const member of cluster.processes()) {
      // A dozen processes compile and start at once on a machine that may be busy.
      await waitFor(
        `${member.service}#${member.instance} to be ready`,
        async () => (await fetch(`${member.url}/ready`).catch(() => undefined))?.ok,
        { timeoutMs: 240_000, intervalMs: 200 },
      );
    }

    const databases = {} as Record<ServiceName, Database>;
    for (const service of serviceNames) {
      const url = new URL(service === 'externals' ? outsideWorld.url : postgres.url);
      url.pathname = `/${tag}_${service}`;
      const db = await openPostgresDatabase({
        connectionString: url.toString(),
        maxConnections: 3,
        applicationName: `fault-suite-${service}`,
      });
      cleanups.push(() => db.close());
      databases[service] = retryingOutages(db);
    }
    const broker = await createNatsBroker({
      servers: nats.url,
      stream: tag.toUpperCase(),
      subjectPrefix: tag,
    });
    cleanups.push(() => broker.close());
    return { cluster, postgres, nats, links, databases, broker, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** `db` whose queries and transactions are retried while the database is unavailable. */
function retryingOutages(db: Database): Database {
  const retrying = async <T>(work: () => Promise<T>): Promise<T> => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        return await work();
      } catch (error) {
        if (!isDatabaseUnavailable(error) || Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  };
  return {
    ...db,
    query: <Row>(...args: Parameters<Queryable['query']>) => retrying(() => db.query<Row>(...args)),
    transaction: (work) => retrying(() => db.transaction(work)),
  };
}
