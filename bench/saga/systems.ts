import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Broker } from '@cads/messaging';
import { createNatsBroker } from '@cads/messaging-nats';
import { natsUrl, postgresUrl } from '@cads/testing';
import pg from 'pg';
import pino from 'pino';
import {
  clusterPortSpan,
  ensureServiceDatabase,
  type RunningCluster,
  startCluster,
} from '../../apps/cli/src/cluster.ts';
import { startEmbedded } from '../../apps/cli/src/embedded.ts';
import { type ServiceName, serviceNames } from '../../apps/cli/src/system.ts';
import { orderEndpoint, type OrderEndpoint, waitReady } from './client.ts';

/** A running system to load, and how to take it down without leaving anything behind. */
export interface BenchSystem {
  readonly mode: 'embedded' | 'cluster';
  readonly description: string;
  readonly urls: Readonly<Record<ServiceName, string>>;
  /** A broker on the system's event log, for the broadcast subscription that sees finals. */
  readonly broker: Broker;
  readonly adminToken: string;
  /** The order service, signed for as the BFF with the system's internal secret. */
  readonly order: OrderEndpoint;
  /** Anything worth telling after the run (restarts of cluster processes). */
  readonly notes: () => string[];
  /** Cluster mode: the supervisor (its processes, fault injection). */
  readonly cluster?: RunningCluster;
  /** Processes of a system started without a supervisor, by label. */
  readonly processes?: () => readonly { readonly label: string; readonly pid: number }[];
  dispose(): Promise<void>;
}

/** Services log warnings only: request logs would cost more than some handlers. */
const logLevel = process.env.CADS_LOG_LEVEL ?? 'warn';
const logger = pino({ level: logLevel });

/** Embedded mode in this process: PGlite on a temporary data directory, deleted afterwards. */
export async function startEmbeddedBench(): Promise<BenchSystem> {
  const dataDir = await mkdtemp(join(tmpdir(), 'cads-bench-saga-'));
  const adminToken = randomBytes(16).toString('hex');
  const internalSecret = randomBytes(32).toString('base64url');
  let system;
  try {
    system = await startEmbedded({
      dataDir,
      logger,
      adminToken,
      internalSecret,
      host: '127.0.0.1',
      basePort: 0,
    });
  } catch (error) {
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
  const running = system;
  return {
    mode: 'embedded',
    description:
      'PGlite on disk + Postgres event log, every service in one process (with the load generator)',
    urls: running.urls,
    broker: running.broker,
    adminToken,
    order: orderEndpoint(running.urls.order, internalSecret),
    notes: () => [],
    async dispose() {
      try {
        await running.stop();
      } finally {
        await rm(dataDir, { recursive: true, force: true });
      }
    },
  };
}

async function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host, port }, () => server.close(() => resolve(true)));
  });
}

/** The first `basePort + 10k` whose `count` ports are all free. */
async function freePortRange(host: string, basePort: number, count: number): Promise<number> {
  for (let base = basePort; base < basePort + 1_000; base += 10) {
    const free = await Promise.all(
      Array.from({ length: count }, (_, i) => portFree(host, base + i)),
    );
    if (free.every(Boolean)) return base;
  }
  throw new Error(`no ${count} free ports from ${basePort}`);
}

async function dropDatabases(adminUrl: string, names: readonly string[]): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    for (const name of names) await client.query(`drop database if exists "${name}" with (force)`);
  } finally {
    await client.end();
  }
}

/**
 * What a distributed benchmark run creates on the servers, named for this run only
 * (`cads_bench_<tag>_<service>` databases, stream `CADS_BENCH_<tag>` on subjects
 * `cadsbench<tag>.*`), so a real `cads_*` deployment on the same servers is never touched: the
 * names, a broker on the stream (it sees the finals), and `cleanUp`, which deletes them all.
 */
async function benchResources() {
  const adminUrl = process.env.CADS_POSTGRES_URL ?? postgresUrl;
  const servers = process.env.CADS_NATS_URL ?? natsUrl;
  const tag = randomUUID().replaceAll('-', '').slice(0, 8);
  const names = {
    databasePrefix: `cads_bench_${tag}`,
    natsStream: `CADS_BENCH_${tag}`,
    natsSubjectPrefix: `cadsbench${tag}`,
  };
  const broker = await createNatsBroker({
    servers,
    stream: names.natsStream,
    subjectPrefix: names.natsSubjectPrefix,
  });
  return {
    adminUrl,
    servers,
    ...names,
    adminToken: randomBytes(16).toString('hex'),
    internalSecret: randomBytes(32).toString('base64url'),
    broker,
    cleanUp: async () => {
      await broker
        .deleteStream()
        .catch((error: unknown) => console.error('could not delete the stream', error));
      await broker.close();
      await dropDatabases(
        adminUrl,
        serviceNames.map((service) => `${names.databasePrefix}_${service}`),
      );
    },
  };
}

/**
 * Cluster mode: `startCluster` (a `cads run <service>` process per service) on databases and a
 * JetStream stream of this run only (`cads_bench_<tag>_<service>`, stream `CADS_BENCH_<tag>` on
 * subjects `cadsbench<tag>.*`), so a real `cads_*` deployment on the same servers is never
 * touched. Everything created is deleted by `dispose`.
 */
export async function startClusterBench(
  preferredPort: number,
  instances?: Partial<Record<ServiceName, number>>,
): Promise<BenchSystem> {
  const host = '127.0.0.1';
  const basePort = await freePortRange(host, preferredPort, clusterPortSpan);
  // The children inherit this process's environment.
  process.env.CADS_LOG_LEVEL = logLevel;
  const run = await benchResources();
  const { adminUrl, servers, databasePrefix, natsStream, natsSubjectPrefix, adminToken } = run;
  const { internalSecret } = run;
  const { broker, cleanUp } = run;
  let cluster;
  try {
    cluster = await startCluster({
      postgresUrl: adminUrl,
      natsUrl: servers,
      adminToken,
      internalSecret,
      host,
      basePort,
      logger,
      databasePrefix,
      natsStream,
      natsSubjectPrefix,
      ...(instances ? { instances } : {}),
    });
  } catch (error) {
    await cleanUp();
    throw error;
  }
  const running = cluster;
  try {
    await waitReady(Object.values(running.urls), 180_000);
  } catch (error) {
    await running.stop();
    await cleanUp();
    throw error;
  }
  return {
    mode: 'cluster',
    description: `a process per service instance (${running
      .processes()
      .filter((p) => p.instance === 0)
      .map(
        (p) => `${p.service} ×${running.processes().filter((q) => q.service === p.service).length}`,
      )
      .join(
        ', ',
      )}) on PostgreSQL (a database each) + NATS JetStream, ports ${basePort}–${basePort + clusterPortSpan - 1}`,
    cluster: running,
    urls: running.urls,
    broker,
    adminToken,
    order: orderEndpoint(running.urls.order, internalSecret),
    notes: () =>
      serviceNames
        .filter((service) => running.restarts[service] > 0)
        .map((service) => `${service} restarted ${running.restarts[service]} time(s)`),
    async dispose() {
      try {
        await running.stop();
      } finally {
        await cleanUp();
      }
    },
  };
}

/**
 * The process groups of the compact distributed deployment: the saga's four services in one
 * process, the external systems' mock and the notifications provider in another, the BFF in
 * a third. Every service keeps its own database, consumer and contracts (`cads run a,b,…`).
 */
export const compactGroups: readonly (readonly ServiceName[])[] = [
  ['order', 'restaurant', 'rider', 'payment'],
  ['externals', 'notifications'],
  ['bff'],
];

/**
 * Distributed mode in the compact topology (`compactGroups`): three `cads run` processes on
 * PostgreSQL (a database per service) and NATS JetStream, on databases and a stream of this run
 * only, as `startClusterBench`; no supervisor (nothing is killed here). `dispose` ends the
 * processes and deletes what was created.
 */
export async function startCompactBench(preferredPort: number): Promise<BenchSystem> {
  const host = '127.0.0.1';
  const basePort = await freePortRange(host, preferredPort, serviceNames.length);
  const ordered = compactGroups.flat();
  const portOf = (service: ServiceName) => basePort + ordered.indexOf(service);
  const urls = Object.fromEntries(
    serviceNames.map((service) => [service, `http://${host}:${portOf(service)}`]),
  ) as Record<ServiceName, string>;

  const run = await benchResources();
  const { adminUrl, servers, databasePrefix, natsStream, natsSubjectPrefix, adminToken } = run;
  const { internalSecret } = run;
  const { broker } = run;
  const children: ChildProcess[] = [];
  const stopChildren = () =>
    Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGTERM');
          }),
      ),
    );
  const cleanUp = async () => {
    await stopChildren();
    await run.cleanUp();
  };
  try {
    for (const service of serviceNames) {
      await ensureServiceDatabase(adminUrl, service, databasePrefix);
    }
    const template = new URL(adminUrl);
    template.pathname = `/${databasePrefix}_SERVICE`;
    for (const group of compactGroups) {
      const child = spawn(
        process.execPath,
        ['--import', import.meta.resolve('tsx'), cliMain, 'run', group.join(',')],
        {
          env: {
            ...process.env,
            CADS_DATABASE_URL: template.href.replace('SERVICE', '{service}'),
            CADS_BROKER_URL: servers,
            CADS_NATS_STREAM: natsStream,
            CADS_NATS_SUBJECT_PREFIX: natsSubjectPrefix,
            CADS_EXTERNALS_URL: urls.externals,
            CADS_ORDER_URL: urls.order,
            CADS_NOTIFICATIONS_URL: urls.notifications,
            CADS_SESSION_SECRET: randomBytes(32).toString('base64url'),
            CADS_INTERNAL_SECRET: internalSecret,
            CADS_ADMIN_TOKEN: adminToken,
            CADS_HOST: host,
            CADS_PORT: String(portOf(group[0]!)),
            CADS_DATABASE_POOL: '5',
            CADS_LOG_LEVEL: logLevel,
          },
          stdio: ['ignore', 'inherit', 'inherit'],
        },
      );
      children.push(child);
    }
    await waitReady(Object.values(urls), 180_000);
  } catch (error) {
    await cleanUp();
    throw error;
  }
  return {
    mode: 'cluster',
    description: `three processes (${compactGroups.map((group) => group.join(' + ')).join('; ')}) on PostgreSQL (a database per service) + NATS JetStream, ports ${basePort}–${basePort + serviceNames.length - 1}`,
    urls,
    broker,
    adminToken,
    order: orderEndpoint(urls.order, internalSecret),
    notes: () => [],
    processes: () =>
      children.flatMap((child, index) =>
        child.pid === undefined ? [] : [{ label: compactGroups[index]!.join(','), pid: child.pid }],
      ),
    dispose: cleanUp,
  };
}

const cliMain = fileURLToPath(new URL('../../apps/cli/src/main.ts', import.meta.url));
