import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createNatsBroker } from '@cads/messaging-nats';
import type { Database } from '@cads/storage';
import { openPostgresDatabase } from '@cads/storage-postgres';
import { natsUrl, postgresUrl, testInternalSecret } from '@cads/testing';
import pg from 'pg';
import pino from 'pino';
import { ensureServiceDatabase } from '../cluster.ts';
import type { CommandIo } from '../command-io.ts';
import { type RunningSystem, serviceNames, startSystem, type SystemOptions } from '../system.ts';

export const adminToken = 'test-admin-token';
const sessionSecret = 'test-session-secret-0123456789abcdef';

export interface PrefixedSystem {
  readonly system: RunningSystem;
  /** The admin connection and the prefix the operator commands take (`--postgres-url`, `--prefix`). */
  readonly postgresUrl: string;
  readonly prefix: string;
  dispose(): Promise<void>;
}

/**
 * The whole system in this process on PostgreSQL and JetStream, its databases named as
 * `cads cluster` names them (`<prefix>_<service>`, a fresh prefix), so the operator commands
 * find them the way they would in a cluster.
 */
export async function startPrefixedSystem(
  settings: Pick<SystemOptions, 'outage'> = {},
): Promise<PrefixedSystem> {
  const prefix = `op${randomUUID().replaceAll('-', '').slice(0, 10)}`;
  const broker = await createNatsBroker({
    servers: natsUrl,
    stream: prefix.toUpperCase(),
    subjectPrefix: prefix,
  });
  const opened: Database[] = [];
  const dispose = async (system?: RunningSystem) => {
    await system?.stop();
    await broker.deleteStream();
    await broker.close();
    for (const db of opened) await db.close();
    const admin = new pg.Client({ connectionString: postgresUrl });
    await admin.connect();
    try {
      for (const service of serviceNames) {
        await admin.query(`drop database if exists "${prefix}_${service}" with (force)`);
      }
    } finally {
      await admin.end();
    }
  };
  try {
    const system = await startSystem({
      async databaseFor(service) {
        const url = await ensureServiceDatabase(postgresUrl, service, prefix);
        const db = await openPostgresDatabase({ connectionString: url });
        opened.push(db);
        return db;
      },
      broker,
      logger: pino({ level: process.env.CADS_TEST_LOG_LEVEL ?? 'silent' }),
      adminToken,
      sessionSecret,
      internalSecret: testInternalSecret,
      ...settings,
    });
    return { system, postgresUrl, prefix, dispose: () => dispose(system) };
  } catch (error) {
    await dispose();
    throw error;
  }
}

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

const main = fileURLToPath(new URL('../main.ts', import.meta.url));

/** Runs `cads <args>` as its own process, as an operator would, with only the given variables. */
export async function runCli(
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', main, ...args],
      { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 60_000 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') {
          reject(new Error(`cads ${args.join(' ')} did not run`, { cause: error }));
          return;
        }
        resolve({ code: typeof error?.code === 'number' ? error.code : 0, stdout, stderr });
      },
    );
  });
}

/**
 * Runs an operator command (`runDlq`, `runReconcile`) in this process with its output
 * captured: what `main.ts` does, without the seconds a new process takes to load.
 */
export async function runInProcess(
  command: (argv: readonly string[], io: CommandIo) => Promise<number>,
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await command(args, {
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    env,
    cwd: process.cwd(),
  });
  return { code, stdout, stderr };
}
