import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createNatsBroker, type NatsBroker } from '@cads/messaging-nats';
import { natsUrl, postgresUrl } from '@cads/testing';
import pg from 'pg';
import { ensureServiceDatabase } from '../../apps/cli/src/cluster.ts';
import type { ServiceName } from '../../apps/cli/src/system.ts';
import { waitReady } from '../saga/client.ts';

const cli = fileURLToPath(new URL('../../apps/cli/src/main.ts', import.meta.url));
const host = '127.0.0.1';

/** A free port on `host`, as the OS hands them out (it may be taken again before use: rare). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host, port: 0 }, () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

/** One `cads run <service>` process. */
export interface ServiceProcess {
  readonly service: ServiceName;
  readonly url: string;
  readonly pid: number;
  /** Set when it exited without being asked to. */
  readonly died: () => string | undefined;
  /** SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL at once (the benchmark is exiting). */
  kill(): void;
}

/** Lines Node prints about the inspector: noise in the benchmark's output. */
const inspectorNoise =
  /^(Debugger (listening on|attached|ending on)|For help, see|Waiting for the debugger)/;

function launch(
  service: ServiceName,
  port: number,
  env: NodeJS.ProcessEnv,
  nodeArgs: readonly string[],
): ServiceProcess {
  const child: ChildProcess = spawn(
    process.execPath,
    [...nodeArgs, '--import', 'tsx', cli, 'run', service],
    {
      env: { ...env, CADS_HOST: host, CADS_PORT: String(port) },
      stdio: ['ignore', 'inherit', 'pipe'],
    },
  );
  if (child.stderr) {
    createInterface({ input: child.stderr }).on('line', (line) => {
      if (!inspectorNoise.test(line)) process.stderr.write(`[${service}] ${line}\n`);
    });
  }
  let stopping = false;
  let death: string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      if (!stopping) death = `${service} exited (${signal ?? code})`;
      resolve();
    });
  });
  return {
    service,
    url: `http://${host}:${port}`,
    pid: child.pid ?? 0,
    died: () => death,
    async stop(graceMs = 15_000) {
      stopping = true;
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const kill = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(kill);
    },
    kill() {
      stopping = true;
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/** A BFF process under measurement, with the inspector port the benchmark collects garbage on. */
export interface BffProcess extends ServiceProcess {
  readonly inspectorPort: number;
}

/**
 * What the live benchmark runs on: the order and notifications services as processes of their
 * own, and BFF processes started one per phase, on PostgreSQL databases and JetStream streams of
 * this run only (`cads_bench_live_<tag>_<service>`; streams `CADS_BENCH_LIVE_<tag>_S` and `_B`),
 * all deleted by `dispose`.
 *
 * The BFF's stream is not the services' stream: the benchmark publishes its saga events there,
 * so they reach the BFF as they would from the saga, while the order service does not fold
 * 20 000 of them into orders on the same two cores (it only serves the orders' snapshots).
 */
export interface LiveSystem {
  readonly orderUrl: string;
  readonly notificationsUrl: string;
  /** Publishes on the BFF's stream. */
  readonly publisher: NatsBroker;
  startBff(): Promise<BffProcess>;
  /** Stops every process started and deletes every database and stream. Idempotent. */
  dispose(): Promise<void>;
  /** Synchronous last resort on exit: SIGKILL every process still running. */
  kill(): void;
}

export async function startLiveSystem(options: { logLevel: string }): Promise<LiveSystem> {
  const adminUrl = process.env.CADS_POSTGRES_URL ?? postgresUrl;
  const servers = process.env.CADS_NATS_URL ?? natsUrl;
  const tag = randomUUID().replaceAll('-', '').slice(0, 8);
  const databasePrefix = `cads_bench_live_${tag}`;
  const streams = {
    services: { stream: `CADS_BENCH_LIVE_${tag}_S`, subjectPrefix: `cadsbenchlive${tag}s` },
    bff: { stream: `CADS_BENCH_LIVE_${tag}_B`, subjectPrefix: `cadsbenchlive${tag}b` },
  };
  const processes: ServiceProcess[] = [];
  const databases: ServiceName[] = [];
  let publisher: NatsBroker | undefined;
  let disposed = false;

  const internalSecret = randomBytes(32).toString('base64url');
  const startService = async (
    service: ServiceName,
    stream: typeof streams.bff,
    env: NodeJS.ProcessEnv,
    nodeArgs: readonly string[] = [],
  ) => {
    if (!databases.includes(service)) databases.push(service);
    const databaseUrl = await ensureServiceDatabase(adminUrl, service, databasePrefix);
    const started = launch(
      service,
      await freePort(),
      {
        ...process.env,
        ...env,
        CADS_LOG_LEVEL: options.logLevel,
        CADS_INTERNAL_SECRET: internalSecret,
        CADS_DATABASE_URL: databaseUrl,
        CADS_BROKER_URL: servers,
        CADS_NATS_STREAM: stream.stream,
        CADS_NATS_SUBJECT_PREFIX: stream.subjectPrefix,
      },
      nodeArgs,
    );
    processes.push(started);
    try {
      await waitReady([started.url], 60_000);
    } catch (error) {
      throw new Error(started.died() ?? `${service} did not get ready`, { cause: error });
    }
    return started;
  };

  const dispose = async () => {
    if (disposed) return;
    disposed = true;
    await Promise.all(processes.map((started) => started.stop()));
    for (const { stream, subjectPrefix } of Object.values(streams)) {
      const broker =
        publisher?.stream === stream
          ? publisher
          : await createNatsBroker({ servers, stream, subjectPrefix }).catch(() => undefined);
      await broker
        ?.deleteStream()
        .catch((error: unknown) => console.error(`could not delete stream ${stream}`, error));
      await broker?.close();
    }
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      for (const service of databases) {
        await client.query(`drop database if exists "${databasePrefix}_${service}" with (force)`);
      }
    } finally {
      await client.end();
    }
  };

  try {
    const sessionSecret = randomBytes(32).toString('base64url');
    const [order, notifications] = await Promise.all([
      startService('order', streams.services, {}),
      startService('notifications', streams.services, {}),
    ]);
    publisher = await createNatsBroker({ servers, ...streams.bff });
    const bffEnv = {
      CADS_ORDER_URL: order.url,
      CADS_NOTIFICATIONS_URL: notifications.url,
      CADS_SESSION_SECRET: sessionSecret,
      // One benchmark user on one address holds every connection, and every user orders from
      // one address: the limits that protect a deployment from one client would stop the
      // measure at 20 connections and 300 orders a minute.
      CADS_LIMIT_LIVE_CONNECTIONS_PER_USER: '1000000',
      CADS_LIMIT_LIVE_CONNECTIONS_PER_IP: '1000000',
      CADS_LIMIT_ORDERS_PER_IP_PER_MINUTE: '1000000',
      // No web app: the benchmark reads the API only.
      CADS_WEB_ROOT: '/nonexistent',
    };
    const live = publisher;
    return {
      orderUrl: order.url,
      notificationsUrl: notifications.url,
      publisher: live,
      async startBff() {
        const inspectorPort = await freePort();
        const bff = await startService('bff', streams.bff, bffEnv, [
          `--inspect=${host}:${inspectorPort}`,
        ]);
        return { ...bff, inspectorPort };
      },
      dispose,
      kill() {
        for (const started of processes) started.kill();
      },
    };
  } catch (error) {
    await dispose();
    throw error;
  }
}
