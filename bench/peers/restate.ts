import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { OrderOutcome, OrderRequest, PeerOptions, RunningPeer } from './peer.ts';
import { httpRequest } from '../http.ts';

/**
 * The Restate peer: one `restate-server` (the npm package's binary, single node, its defaults
 * but for addresses and telemetry) and one Node process serving the `OrderSaga` service of
 * `restate/saga.ts`, registered as a deployment. Each order is one synchronous call to the
 * ingress.
 *
 * Ports, from `basePort`: ingress +0, admin +1, node-to-node (fabric) +2, handler +3; all on
 * 127.0.0.1, TCP only (no unix sockets).
 */

const peerDir = fileURLToPath(new URL('restate/', import.meta.url));
const requireInPeer = createRequire(`${peerDir}package.json`);
const stopGraceMs = 10_000;
const startTimeoutMs = 120_000;

/** What survives what, from how this peer runs Restate (see `serverConfig`). */
const durability = {
  processCrash:
    'Every step is journaled by restate-server before the saga goes past it; after a crash of the server or the handler, Restate replays the journal and resumes each saga after its last journaled step (a step in flight may run again, and every step is idempotent); the orders table is in PostgreSQL.',
  osCrash:
    "Per Restate's docs, the server 'is configured to perform write-ahead logging with fsync enabled to ensure that effects are fully persisted before being acknowledged'; this run keeps those defaults (RocksDB WAL fsync on every write batch of the log) on one node with replication 1 on local disk, so journaled steps survive an OS crash but not the loss of that disk.",
};

/** `restate-server`'s version, from its installed package (after `startRestatePeer` installed it). */
export function restateVersion(): string {
  const manifest = requireInPeer.resolve('@restatedev/restate-server/package.json');
  return (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
}

/** The binary of the platform's package, which the wrapper package would spawn as a child. */
function serverBinary(): string {
  const platformPackage = `@restatedev/restate-server-${process.platform}-${process.arch}`;
  return requireInPeer
    .resolve(`${platformPackage}/package.json`)
    .replace(/package\.json$/, 'bin/restate-server');
}

/**
 * The peer's own dependencies live in `restate/node_modules`, installed on first use; npm's
 * output is shown only when it fails.
 */
async function ensureInstalled(): Promise<void> {
  if (existsSync(`${peerDir}node_modules/@restatedev/restate-sdk`)) return;
  console.log(`restate peer: installing its dependencies in ${peerDir}`);
  const npm = spawn('npm', ['install', '--no-audit', '--no-fund', '--no-save'], {
    cwd: peerDir,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const errors: Buffer[] = [];
  npm.stderr.on('data', (chunk: Buffer) => errors.push(chunk));
  const code = await new Promise<number | null>((resolve, reject) => {
    npm.once('error', reject);
    npm.once('close', resolve);
  });
  if (code !== 0) {
    throw new Error(
      `npm install in ${peerDir} exited with ${code}: ${Buffer.concat(errors).toString()}`,
    );
  }
}

function databaseUrl(postgresUrl: string, database: string): string {
  const url = new URL(postgresUrl);
  url.pathname = `/${database}`;
  return url.href;
}

async function adminQuery(postgresUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

interface Ports {
  readonly ingress: number;
  readonly admin: number;
  readonly fabric: number;
  readonly handler: number;
}

/**
 * Every listener set explicitly (none on Restate's defaults 8080/9070/5122), the data under
 * `baseDir`, telemetry off. Durability settings are Restate's defaults, untouched.
 */
function serverConfig(ports: Ports, baseDir: string): string {
  return [
    'node-name = "bench"',
    `base-dir = ${JSON.stringify(baseDir)}`,
    'listen-mode = "tcp"',
    `bind-address = "127.0.0.1:${ports.fabric}"`,
    `advertised-address = "http://127.0.0.1:${ports.fabric}/"`,
    'disable-telemetry = true',
    'log-disable-ansi-codes = true',
    '',
    '[admin]',
    `bind-address = "127.0.0.1:${ports.admin}"`,
    '',
    '[ingress]',
    `bind-address = "127.0.0.1:${ports.ingress}"`,
    '',
  ].join('\n');
}

/** A POST through the benchmark's keep-alive connections; `timeoutMs` bounds a probe's wait. */
const send = (url: string, headers: Record<string, string>, body: string, timeoutMs?: number) =>
  httpRequest(url, {
    method: 'POST',
    headers,
    body,
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
  });

interface Child {
  readonly label: string;
  readonly child: ChildProcess;
  readonly logFile: string;
  /** Set when the process could not be spawned at all. */
  spawnError?: Error;
}

/** Throws when a started process has already exited: the start cannot succeed any more. */
function assertRunning(children: readonly Child[]): void {
  for (const { label, child, logFile, spawnError } of children) {
    if (spawnError || child.exitCode !== null || child.signalCode !== null) {
      const how = spawnError?.message ?? child.exitCode ?? child.signalCode;
      throw new Error(
        `restate peer: ${label} exited (${String(how)}) while starting; see ${logFile}`,
      );
    }
  }
}

/**
 * Calls `attempt` until it returns true; throws after the start timeout, naming `what`, or as
 * soon as one of `children` has exited.
 */
async function waitFor(
  what: string,
  children: readonly Child[],
  attempt: () => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + startTimeoutMs;
  let lastError = '';
  while (Date.now() < deadline) {
    assertRunning(children);
    try {
      if (await attempt()) return;
    } catch (error) {
      lastError = ` (${error instanceof Error ? error.message : 'unknown error'})`;
    }
    await sleep(250);
  }
  throw new Error(`restate peer: ${what} timed out${lastError}`);
}

/** Registers the handler process (retried until it listens and the admin API is up). */
async function registerDeployment(ports: Ports, children: readonly Child[]): Promise<void> {
  const body = JSON.stringify({ uri: `http://127.0.0.1:${ports.handler}` });
  await waitFor('registering the deployment', children, async () => {
    const answer = await send(`http://127.0.0.1:${ports.admin}/deployments`, {}, body, 5_000);
    return answer.status === 201 || answer.status === 200;
  });
}

/**
 * Waits until an invocation goes all the way to the handler and back, without a side effect:
 * an empty request is refused by the handler itself (400) before any step.
 */
async function waitInvocable(ports: Ports, children: readonly Child[]): Promise<void> {
  await waitFor('the first invocation', children, async () => {
    const url = `http://127.0.0.1:${ports.ingress}/OrderSaga/placeOrder`;
    const answer = await send(url, {}, '{}', 5_000);
    return answer.status === 400 && answer.body.includes('not an order');
  });
}

/** SIGTERM, then SIGKILL after the grace period; resolves when the process has exited. */
async function terminate({ child }: Child): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), stopGraceMs);
  await exited;
  clearTimeout(timer);
}

/** A process with its stdout and stderr appended to `logFile`. */
function spawnLogged(
  label: string,
  command: string,
  args: readonly string[],
  logFile: string,
  env: NodeJS.ProcessEnv,
): Child {
  const log = openSync(logFile, 'a');
  try {
    const started: Child = {
      label,
      logFile,
      child: spawn(command, args, { env, stdio: ['ignore', log, log] }),
    };
    started.child.once('error', (error) => (started.spawnError = error));
    return started;
  } finally {
    closeSync(log); // the child has its own copy
  }
}

function startServer(dir: string): Child {
  return spawnLogged(
    'restate-server',
    serverBinary(),
    ['--config-file', `${dir}/restate.toml`, '--no-logo'],
    `${dir}/restate-server.log`,
    process.env,
  );
}

/**
 * Node with tsx's loader in-process (not the tsx CLI, which runs the program in a child
 * process): the pid is the process doing the work.
 */
function startHandler(dir: string, ports: Ports, options: PeerOptions, database: string): Child {
  return spawnLogged(
    'handler',
    process.execPath,
    ['--import', import.meta.resolve('tsx'), `${peerDir}saga.ts`],
    `${dir}/handler.log`,
    {
      ...process.env,
      EXTERNALS_URL: options.externalsUrl,
      NOTIFICATIONS_URL: options.notificationsUrl,
      INTERNAL_SECRET: options.internalSecret,
      DATABASE_URL: databaseUrl(options.postgresUrl, database),
      PORT: String(ports.handler),
      RESTATE_LOGGING: 'WARN',
    },
  );
}

/**
 * Starts the Restate peer: installs its dependencies if missing, creates its database, starts
 * the server and the handler, registers the deployment and waits until an invocation works.
 * A failed start stops whatever it started before rethrowing.
 */
export async function startRestatePeer(options: PeerOptions): Promise<RunningPeer> {
  await ensureInstalled();
  const tag = randomBytes(4).toString('hex');
  const database = `bench_peer_restate_${tag}`;
  const dir = `${options.workDir}/restate-${tag}`;
  const ports: Ports = {
    ingress: options.basePort,
    admin: options.basePort + 1,
    fabric: options.basePort + 2,
    handler: options.basePort + 3,
  };
  const children: Child[] = [];
  let databaseCreated = false;

  const stop = async () => {
    await Promise.all(children.map(terminate));
    if (databaseCreated) {
      await adminQuery(options.postgresUrl, `drop database if exists "${database}" with (force)`);
    }
    await rm(dir, { recursive: true, force: true });
  };

  try {
    await adminQuery(options.postgresUrl, `create database "${database}"`);
    databaseCreated = true;
    await mkdir(dir, { recursive: true });
    await writeFile(`${dir}/restate.toml`, serverConfig(ports, `${dir}/data`));
    children.push(startServer(dir));
    children.push(startHandler(dir, ports, options, database));
    await registerDeployment(ports, children);
    await waitInvocable(ports, children);
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    description: `Restate ${restateVersion()} (server + one Node handler process)`,
    order: (order) => placeOrder(ports, order),
    processes: () =>
      children
        .filter(({ child }) => child.pid !== undefined)
        .map(({ label, child }) => ({ label, pid: child.pid! })),
    durability,
    stop,
  };
}

/**
 * One saga, synchronously: the ingress answers when the handler has returned. The order id is
 * the invocation's idempotency key, so a repeated request attaches to the same saga instead of
 * starting another.
 */
async function placeOrder(ports: Ports, order: OrderRequest): Promise<OrderOutcome> {
  const answer = await send(
    `http://127.0.0.1:${ports.ingress}/OrderSaga/placeOrder`,
    { 'idempotency-key': order.orderId },
    JSON.stringify(order),
  );
  if (answer.status < 200 || answer.status >= 300) {
    throw new Error(`OrderSaga/placeOrder: ${answer.status} ${answer.body.slice(0, 200)}`);
  }
  return JSON.parse(answer.body) as OrderOutcome;
}
