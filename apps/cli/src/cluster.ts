import { type ChildProcess, spawn } from 'node:child_process';
import pg from 'pg';
import type { Logger } from 'pino';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { startBalancer } from './balancer.ts';
import { OperatorError } from './operator-error.ts';
import { bundleCommand } from './process-bundle.ts';
import { portOffsets, serviceNames, type ServiceName } from './system.ts';

export interface ClusterOptions {
  /** An admin connection to the PostgreSQL server; one database per service is created on it. */
  readonly postgresUrl: string;
  readonly natsUrl: string;
  readonly adminToken: string;
  /** Where the entry point (the BFF instances' balancer) listens; every process is on loopback. */
  readonly host: string;
  readonly basePort: number;
  readonly logger: Logger;
  /** Log level of the service processes (`CADS_LOG_LEVEL`). Default: this process's setting. */
  readonly logLevel?: string;
  /** Databases are named `<databasePrefix>_<service>`. Default `cads`. */
  readonly databasePrefix?: string;
  /** The services' JetStream stream (`CADS_NATS_STREAM` of each process). Default `CADS`. */
  readonly natsStream?: string;
  /** Their subjects `<prefix>.<type>` (`CADS_NATS_SUBJECT_PREFIX`). Default `cads`. */
  readonly natsSubjectPrefix?: string;
  /** Signs the BFF's sessions. Default: `CADS_SESSION_SECRET`, else a new one for this run. */
  readonly sessionSecret?: string;
  /** Signs the internal calls' service tokens. Default: `CADS_INTERNAL_SECRET`, else a new one. */
  readonly internalSecret?: string;
  /** Processes per service (at most 3). Default `defaultInstances`. */
  readonly instances?: Partial<Record<ServiceName, number>>;
  /**
   * Another server (an admin URL, like `postgresUrl`) for some services' databases, e.g. the
   * externals mock's on a server a fault test does not crash, or one service's through a proxy.
   */
  readonly postgresUrls?: Partial<Record<ServiceName, string>>;
}

export interface ClusterProcess {
  readonly service: ServiceName;
  /** 0-based instance number. */
  readonly instance: number;
  readonly url: string;
  /** The current OS process (a new one after each restart); undefined while restarting. */
  readonly pid: number | undefined;
  /** When the current process was spawned (ms since the epoch). */
  readonly startedAt: number | undefined;
  readonly restarts: number;
}

export interface RunningCluster {
  /**
   * One URL per service: the first instance's, except the BFF's, which is the round-robin
   * entry point in front of its instances (the URL to open).
   */
  readonly urls: Readonly<Record<ServiceName, string>>;
  /** Restarts seen so far, per service (all its instances). */
  readonly restarts: Readonly<Record<ServiceName, number>>;
  /** Every supervised process. */
  processes(): readonly ClusterProcess[];
  /** Sends `signal` to one instance's process (fault injection); it is restarted. */
  kill(service: ServiceName, instance: number, signal?: NodeJS.Signals): boolean;
  stop(): Promise<void>;
}

/** Fault injection beyond `kill`: keeping a service down. */
export interface ClusterHolds {
  /** `service`'s processes that die stay down until `release(service)`. */
  hold(service: ServiceName): void;
  /** Restarts `service`'s processes that died while held, and any that die later. */
  release(service: ServiceName): void;
}

/** Default instances per service: the consumers and the BFF run twice. */
export const defaultInstances: Readonly<Record<ServiceName, number>> = {
  externals: 1,
  notifications: 1,
  order: 1,
  restaurant: 2,
  rider: 2,
  payment: 2,
  bff: 2,
};

/** Ports a cluster takes from `basePort`: a block of ten per instance number. */
export const clusterPortSpan = 40;

/** Where the cluster's processes listen: loopback, whatever the entry point's address. */
const internalHost = '127.0.0.1';

/**
 * The port of one instance: instance `i` of a service at `basePort + 10·i + offset`, except
 * the BFF's instances, at `basePort + 10·(i + 1)`, since the entry point holds `basePort`.
 */
export function clusterPort(basePort: number, service: ServiceName, instance: number): number {
  if (service === 'bff') return basePort + 10 * (instance + 1);
  return basePort + 10 * instance + portOffsets[service];
}

/** `<prefix>_<service>` on the server of `postgresUrl`, created if missing. */
export async function ensureServiceDatabase(
  postgresUrl: string,
  service: string,
  prefix = 'cads',
): Promise<string> {
  for (const part of [prefix, service]) {
    if (!/^[a-z_][a-z0-9_]*$/.test(part)) {
      throw new TypeError(`database name part '${part}' must match [a-z_][a-z0-9_]*`);
    }
  }
  const name = `${prefix}_${service}`;
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (!rowCount) {
      await client.query(`create database "${name}"`).catch((error: { code?: string }) => {
        if (error.code !== '42P04') throw error;
      });
    }
  } finally {
    await client.end();
  }
  const url = new URL(postgresUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * Runs every service as its own OS process (`cads run <service>`) on PostgreSQL (a database per
 * service, shared by its instances) and NATS JetStream, restarts a process that dies, as a
 * supervisor would, and serves the BFF instances behind a round-robin entry point.
 */
export async function startCluster(
  options: ClusterOptions,
): Promise<RunningCluster & ClusterHolds> {
  const instancesOf = (service: ServiceName) =>
    Math.min(3, Math.max(1, options.instances?.[service] ?? defaultInstances[service]));
  // Every process listens on loopback: the services are internal (they answer only service
  // tokens), and the BFF instances are reached through the entry point, the only listener on
  // `options.host`.
  const urlOf = (service: ServiceName, instance = 0) =>
    `http://${internalHost}:${clusterPort(options.basePort, service, instance)}`;
  const sessionSecret =
    options.sessionSecret ??
    process.env.CADS_SESSION_SECRET ??
    randomBytes(32).toString('base64url');
  const internalSecret =
    options.internalSecret ??
    process.env.CADS_INTERNAL_SECRET ??
    randomBytes(32).toString('base64url');
  const urls = {} as Record<ServiceName, string>;
  const restarts = {} as Record<ServiceName, number>;
  const supervised: Array<{
    service: ServiceName;
    instance: number;
    url: string;
    child: ChildProcess | undefined;
    startedAt: number | undefined;
    restarts: number;
    env?: NodeJS.ProcessEnv;
  }> = [];
  let stopping = false;
  const held = new Set<ServiceName>();

  // Every process runs the command compiled once: a restart loads one file instead of
  // transpiling the sources again.
  const command = await bundleCommand();
  const launch = (entry: (typeof supervised)[number], env: NodeJS.ProcessEnv) => {
    entry.env = env;
    const child = spawn(
      process.execPath,
      ['--enable-source-maps', command.file, 'run', entry.service],
      {
        env,
        stdio: ['ignore', 'inherit', 'inherit'],
      },
    );
    entry.child = child;
    entry.startedAt = Date.now();
    child.once('exit', (code, signal) => {
      entry.child = undefined;
      entry.startedAt = undefined;
      if (stopping) return;
      entry.restarts += 1;
      restarts[entry.service] += 1;
      options.logger.warn(
        {
          service: entry.service,
          instance: entry.instance,
          code,
          signal,
          restarts: entry.restarts,
        },
        'service process died; restarting',
      );
      setTimeout(
        () => {
          if (!stopping && !held.has(entry.service) && !entry.child) launch(entry, env);
        },
        Math.min(5_000, 200 * entry.restarts),
      );
    });
  };

  for (const service of serviceNames) {
    urls[service] = urlOf(service);
    restarts[service] = 0;
    const databaseUrl = await ensureServiceDatabase(
      options.postgresUrls?.[service] ?? options.postgresUrl,
      service,
      options.databasePrefix,
    );
    for (let instance = 0; instance < instancesOf(service); instance++) {
      const port = clusterPort(options.basePort, service, instance);
      const entry = {
        service,
        instance,
        url: urlOf(service, instance),
        child: undefined,
        startedAt: undefined,
        restarts: 0,
      };
      supervised.push(entry);
      launch(entry, {
        ...process.env,
        CADS_DATABASE_URL: databaseUrl,
        CADS_BROKER_URL: options.natsUrl,
        CADS_EXTERNALS_URL: urlOf('externals'),
        CADS_ORDER_URL: urlOf('order'),
        CADS_NOTIFICATIONS_URL: urlOf('notifications'),
        CADS_SESSION_SECRET: sessionSecret,
        CADS_INTERNAL_SECRET: internalSecret,
        CADS_ADMIN_TOKEN: options.adminToken,
        CADS_HOST: internalHost,
        CADS_PORT: String(port),
        // A dozen processes share the server's connections (100 by default).
        CADS_DATABASE_POOL: process.env.CADS_DATABASE_POOL ?? '5',
        ...(options.logLevel ? { CADS_LOG_LEVEL: options.logLevel } : {}),
        ...(options.natsStream ? { CADS_NATS_STREAM: options.natsStream } : {}),
        ...(options.natsSubjectPrefix
          ? { CADS_NATS_SUBJECT_PREFIX: options.natsSubjectPrefix }
          : {}),
      });
    }
  }
  const entry = await startBalancer({
    host: options.host,
    port: options.basePort,
    backends: supervised
      .filter((process) => process.service === 'bff')
      .map((process) => new URL(process.url).host),
  });
  urls.bff = entry.url;

  return {
    urls,
    restarts,
    processes: () =>
      supervised.map(({ service, instance, url, child, startedAt, restarts: count }) => ({
        service,
        instance,
        url,
        pid: child?.pid,
        startedAt,
        restarts: count,
      })),
    kill(service, instance, signal = 'SIGKILL') {
      const target = supervised.find((p) => p.service === service && p.instance === instance);
      return target?.child?.kill(signal) ?? false;
    },
    hold(service) {
      held.add(service);
    },
    release(service) {
      held.delete(service);
      for (const entry of supervised) {
        if (entry.service === service && !entry.child && entry.env && !stopping) {
          launch(entry, entry.env);
        }
      }
    },
    async stop() {
      stopping = true;
      await entry.close();
      // The BFFs and the services that call others stop first, externals last.
      for (const service of [...serviceNames].reverse()) {
        await Promise.all(
          supervised
            .filter((process) => process.service === service)
            .map(async ({ child }) => {
              if (!child || child.exitCode !== null || child.signalCode !== null) return;
              const exited = new Promise((resolve) => child.once('exit', resolve));
              child.kill('SIGTERM');
              await exited;
            }),
        );
      }
      await command.remove();
    },
  };
}

/** What `untilClusterReady` probes: the entry point and every process (a `RunningCluster`). */
export interface ReadinessView {
  readonly urls: { readonly bff: string };
  processes(): readonly ClusterProcess[];
}

export interface ReadyOptions {
  /** How long to wait at most. Default 300 000: a first start compiles a dozen processes at once. */
  readonly timeoutMs?: number;
  /** Between two rounds of probes. Default 500. */
  readonly intervalMs?: number;
}

/**
 * Waits until the cluster can take orders: every process and the entry point answer `GET
 * /ready` with 200 (each process's own checks: its database, its broker, what it calls).
 * Past `timeoutMs`, fails with an `OperatorError` naming every process not ready yet, and how
 * often each was restarted. The cluster is left running either way.
 */
export async function untilClusterReady(
  cluster: ReadinessView,
  options: ReadyOptions = {},
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 300_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const waiting = await notReady(cluster);
    if (waiting.length === 0) return;
    if (Date.now() >= deadline) {
      throw new OperatorError(
        `the cluster is not ready after ${timeoutMs / 1_000} s: ` +
          `${waiting.join(', ')} not answering GET /ready with 200. ` +
          'Their log above says why; PostgreSQL and NATS must be up.',
      );
    }
    await sleep(options.intervalMs ?? 500);
  }
}

/** The processes (and the entry point) that do not answer `/ready` with 200, for messages. */
async function notReady(cluster: ReadinessView): Promise<string[]> {
  const probes = [
    ...cluster.processes().map((member) => ({
      name:
        `${member.service}#${member.instance + 1}` +
        (member.restarts > 0
          ? ` (restarted ${member.restarts} time${member.restarts === 1 ? '' : 's'})`
          : ''),
      url: member.url,
    })),
    { name: `the entry point ${cluster.urls.bff}`, url: cluster.urls.bff },
  ];
  const answers = await Promise.all(
    probes.map(async ({ name, url }) => ((await answersReady(url)) ? undefined : name)),
  );
  return answers.filter((name) => name !== undefined);
}

async function answersReady(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/ready`, { signal: AbortSignal.timeout(2_000) });
    await response.body?.cancel();
    return response.status === 200;
  } catch {
    return false;
  }
}
