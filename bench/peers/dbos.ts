/**
 * The DBOS Transact peer: the food saga of `peer.ts` as a DBOS workflow (`dbos/saga.ts`), one
 * Node process with DBOS in it, on two databases of this machine's PostgreSQL (the app's, with
 * its `orders` table, and DBOS's system database). Its dependencies are installed on first use
 * into `dbos/node_modules`, outside the root's workspaces.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { open, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { httpRequest } from '../http.ts';
import type { OrderOutcome, OrderRequest, PeerOptions, RunningPeer } from './peer.ts';

const appDir = fileURLToPath(new URL('./dbos/', import.meta.url));
const sdkDir = join(appDir, 'node_modules/@dbos-inc/dbos-sdk');
/** The root's tsx as a loader of this very process: `tsx` the command would run the app in a child. */
const tsxLoader = import.meta.resolve('tsx');

const readyTimeoutMs = 60_000;
const killAfterMs = 10_000;

/** The installed DBOS SDK's version (after `startDbosPeer` has installed it). */
export async function dbosVersion(): Promise<string> {
  const manifest = JSON.parse(await readFile(join(sdkDir, 'package.json'), 'utf8')) as {
    version: string;
  };
  return manifest.version;
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** `npm install` of `dbos/package.json`, once: skipped when the SDK is there. */
async function installDependencies(): Promise<void> {
  if (existsSync(sdkDir)) return;
  console.log(`[dbos] installing the DBOS peer's dependencies into ${appDir}node_modules`);
  const npm = spawn('npm', ['install', '--no-audit', '--no-fund', '--no-save'], {
    cwd: appDir,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    npm.once('error', reject);
    npm.once('exit', resolve);
  });
  if (code !== 0) throw new Error(`npm install in ${appDir} exited with ${code}`);
}

/** The first port from `from` that nothing listens on. */
async function freePort(from: number): Promise<number> {
  for (let port = from; port < from + 50; port++) {
    const free = await new Promise<boolean>((resolve) => {
      const probe = createServer()
        .once('error', () => resolve(false))
        .listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error(`no free port in ${from}..${from + 49}`);
}

async function withAdmin<T>(postgresUrl: string, work: (client: pg.Client) => Promise<T>) {
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** What PostgreSQL does with a commit before acknowledging it, for the OS-crash answer. */
async function commitDurability(client: pg.Client): Promise<string> {
  const setting = async (name: string) =>
    (await client.query<Record<string, string>>(`show ${name}`)).rows[0]?.[name];
  const fsync = await setting('fsync');
  const synchronousCommit = await setting('synchronous_commit');
  const flushed = fsync === 'on' && synchronousCommit !== 'off';
  return flushed
    ? `PostgreSQL flushes each commit to its WAL before acknowledging it (fsync=${fsync}, synchronous_commit=${synchronousCommit}), so every committed checkpoint and order row survives, and a step whose checkpoint was not yet committed runs again at recovery`
    : `PostgreSQL does not flush commits before acknowledging them here (fsync=${fsync}, synchronous_commit=${synchronousCommit}), so the latest checkpoints may be lost and their steps run again (made safe by the idempotency keys), or a corrupted cluster lose everything`;
}

/** Resolves once `GET /ready` answers 200; rejects when the app exits first or is too slow. */
async function waitReady(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + readyTimeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`the DBOS app exited (${child.exitCode ?? child.signalCode}) before ready`);
    }
    const status = await fetch(url).then(
      (res) => res.status,
      () => 0,
    );
    if (status === 200) return;
    await sleep(200);
  }
  throw new Error(`the DBOS app was not ready within ${readyTimeoutMs} ms`);
}

/** SIGTERM, then SIGKILL if it has not exited after `killAfterMs`. */
async function stopProcess(child: ChildProcess): Promise<void> {
  const exit = exited(child);
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
  await exit;
  clearTimeout(timer);
}

/**
 * Creates the run's two databases, starts the DBOS app on them and waits until it is ready.
 * Whatever fails on the way, what was started or created is stopped and removed.
 */
export async function startDbosPeer(options: PeerOptions): Promise<RunningPeer> {
  await installDependencies();
  const version = await dbosVersion();
  const tag = randomUUID().replaceAll('-', '').slice(0, 8);
  const databases = { app: `bench_peer_dbos_${tag}`, system: `bench_peer_dbos_${tag}_sys` };
  const urlOf = (database: string) => {
    const url = new URL(options.postgresUrl);
    url.pathname = `/${database}`;
    return url.href;
  };
  const logPath = join(options.workDir, 'dbos-app.log');
  let child: ChildProcess | undefined;

  const stop = async () => {
    if (child) await stopProcess(child);
    await withAdmin(options.postgresUrl, async (client) => {
      for (const name of Object.values(databases)) {
        await client.query(`drop database if exists "${name}" with (force)`);
      }
    });
    await rm(logPath, { force: true });
  };

  try {
    const osCrash = await withAdmin(options.postgresUrl, async (client) => {
      for (const name of Object.values(databases)) await client.query(`create database "${name}"`);
      return commitDurability(client);
    });
    const port = await freePort(options.basePort);
    // DBOS's info log (launch, recovery) goes to a file of the run; warnings and errors to stderr.
    const log = await open(logPath, 'w');
    try {
      child = spawn(process.execPath, ['--import', tsxLoader, join(appDir, 'saga.ts')], {
        cwd: appDir,
        env: {
          ...process.env,
          EXTERNALS_URL: options.externalsUrl,
          NOTIFICATIONS_URL: options.notificationsUrl,
          INTERNAL_SECRET: options.internalSecret,
          DATABASE_URL: urlOf(databases.app),
          SYSTEM_DATABASE_URL: urlOf(databases.system),
          PORT: String(port),
        },
        stdio: ['ignore', log.fd, 'inherit'],
      });
    } finally {
      await log.close();
    }
    const baseUrl = `http://127.0.0.1:${port}`;
    await waitReady(`${baseUrl}/ready`, child);
    return running(child, baseUrl, version, osCrash, stop);
  } catch (error) {
    await stop().catch((cleanup: unknown) => console.warn('[dbos] cleanup failed:', cleanup));
    throw error;
  }
}

function running(
  child: ChildProcess,
  baseUrl: string,
  version: string,
  osCrash: string,
  stop: () => Promise<void>,
): RunningPeer {
  const pid = child.pid;
  return {
    description: `DBOS ${version} (one Node process + PostgreSQL)`,
    async order(order: OrderRequest): Promise<OrderOutcome> {
      const answer = await httpRequest(`${baseUrl}/orders`, {
        method: 'POST',
        body: JSON.stringify(order),
      });
      if (answer.status !== 200) {
        throw new Error(`POST /orders: ${answer.status} ${answer.body.slice(0, 200)}`);
      }
      return JSON.parse(answer.body) as OrderOutcome;
    },
    processes: () => (pid === undefined ? [] : [{ label: 'dbos app', pid }]),
    durability: {
      processCrash:
        "Every started saga: DBOS records the workflow and its input, then each step's outcome as it completes, in its PostgreSQL system database, and per DBOS's docs a restarted process recovers all its PENDING workflows and resumes each from its last completed step (a step cut short runs again: at least once, made safe by the idempotency keys); nothing restarts the process by itself, so a saga waits for the next launch",
      osCrash: `As for a process crash, for what PostgreSQL had committed: ${osCrash}`,
    },
    stop,
  };
}
