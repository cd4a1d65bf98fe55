import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { access, chown, constants, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { waitFor } from '@cads/messaging/testing';
import pg from 'pg';
import { freePortRange } from '../saga/free-ports.ts';

/** Debian's PostgreSQL 15 binaries (`postgresql-15`). */
const binDir = process.env.CADS_TEST_POSTGRES_BIN ?? '/usr/lib/postgresql/15/bin';

/**
 * A PostgreSQL server of the suite's own (free port, own data directory, trust auth on
 * 127.0.0.1), so the suite may crash and restart it without disturbing the machine's shared
 * server. The server runs as the `postgres` OS user, which it insists on when started as root.
 */
export interface OwnPostgresServer {
  /** `postgres://postgres@127.0.0.1:<port>/postgres`: an admin connection. */
  readonly url: string;
  /**
   * Crashes the server — an immediate shutdown (SIGQUIT, as `pg_ctl stop -m immediate`): every
   * connection dropped, nothing flushed, WAL recovery at the next start — waits `downMs`, then
   * starts it again on the same port and data, and resolves once it accepts queries.
   */
  restart(downMs: number): Promise<void>;
  /** Stops the server (fast shutdown) and removes its data. */
  stop(): Promise<void>;
}

/** `undefined` when the binaries are installed, else why suites needing them are skipped. */
export async function ownPostgresSkipReason(): Promise<string | undefined> {
  try {
    await access(join(binDir, 'postgres'), constants.X_OK);
    await access(join(binDir, 'initdb'), constants.X_OK);
    return undefined;
  } catch {
    const reason = `PostgreSQL binaries not found in ${binDir} (Debian's postgresql-15)`;
    if (process.env.CADS_REQUIRE_SERVERS === '1') {
      throw new Error(`${reason}; CADS_REQUIRE_SERVERS=1 forbids skipping`);
    }
    return reason;
  }
}

/** uid and gid of the `postgres` OS user when this process runs as root, else undefined. */
async function postgresUser(): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const run = promisify(execFile);
  const [uid, gid] = await Promise.all([
    run('id', ['-u', 'postgres']),
    run('id', ['-g', 'postgres']),
  ]);
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

async function accepts(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
  // A refused or dropped connection during start-up or recovery emits here as well.
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function startOwnPostgresServer(): Promise<OwnPostgresServer> {
  const user = await postgresUser();
  const root = await mkdtemp(join(tmpdir(), 'cads-postgres-'));
  const dataDir = join(root, 'data');
  if (user) await chown(root, user.uid, user.gid);
  // Below the ephemeral range: no outgoing connection can hold the port while the server is
  // down, so it always gets it back.
  const port = await freePortRange(1);
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const asPostgres = { ...(user ?? {}), cwd: root, env: { ...process.env, LC_ALL: 'C' } };

  await new Promise<void>((resolve, reject) => {
    const initdb = spawn(
      join(binDir, 'initdb'),
      ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-locale', '--no-sync'],
      { ...asPostgres, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    initdb.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    initdb.once('error', reject);
    initdb.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`initdb exited with ${code}: ${stderr}`)),
    );
  });

  let child: ChildProcess | undefined;
  let output = '';
  const start = async () => {
    output = '';
    const server = spawn(
      join(binDir, 'postgres'),
      [
        '-D',
        dataDir,
        '-p',
        String(port),
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        `unix_socket_directories=${root}`,
        // A dozen service processes with pools of 5, their listeners, and the suite's own.
        '-c',
        'max_connections=300',
        '-c',
        'shared_buffers=64MB',
        // Durability against a power cut is not under test, a crash of the server is: the WAL
        // still reaches the kernel at each commit (synchronous_commit stays on), so a crash
        // loses no committed transaction.
        '-c',
        'fsync=off',
        '-c',
        'full_page_writes=off',
      ],
      { ...asPostgres, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    server.stderr?.on('data', (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-4_000);
    });
    child = server;
    await waitFor(`PostgreSQL on ${port}`, () => accepts(url), {
      timeoutMs: 60_000,
      intervalMs: 100,
    }).catch((error: unknown) => {
      throw new Error(`PostgreSQL did not start: ${output}`, { cause: error });
    });
  };
  const signal = async (name: NodeJS.Signals) => {
    const running = child;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill(name);
    await exited;
  };

  try {
    await start();
  } catch (error) {
    await signal('SIGQUIT');
    await rm(root, { recursive: true, force: true });
    throw error;
  }
  return {
    url,
    async restart(downMs) {
      await signal('SIGQUIT');
      await new Promise((resolve) => setTimeout(resolve, downMs));
      await start();
    },
    async stop() {
      // Fast shutdown: clients are disconnected, no waiting for them to leave.
      await signal('SIGINT');
      await rm(root, { recursive: true, force: true });
    },
  };
}
