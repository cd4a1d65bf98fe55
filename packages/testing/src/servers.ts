import { access, constants } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { connect } from '@nats-io/transport-node';
import pg from 'pg';

/** The PostgreSQL server integration suites use (an admin connection to create databases). */
export const postgresUrl =
  process.env.CADS_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
/** The NATS server (JetStream enabled) integration suites use. */
export const natsUrl = process.env.CADS_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

/**
 * Set by CI (`CADS_REQUIRE_SERVERS=1`): a missing server is then a failure, never a skip.
 */
const serversRequired = process.env.CADS_REQUIRE_SERVERS === '1';

/**
 * Checks that a server answers. Resolves to `undefined` when it does, or to the reason to skip
 * the suite when it does not; throws instead when servers are required.
 */
async function requirement(name: string, probe: () => Promise<void>): Promise<string | undefined> {
  try {
    await probe();
    return undefined;
  } catch (error) {
    const reason = `${name} is not reachable (${error instanceof Error ? error.message : String(error)})`;
    if (serversRequired) {
      throw new Error(`${reason}; CADS_REQUIRE_SERVERS=1 forbids skipping`, { cause: error });
    }
    return reason;
  }
}

/** Debian's Chromium, which the browser suites drive (`apt-get install -y chromium`). */
export const chromiumPath = process.env.CADS_TEST_CHROMIUM ?? '/usr/bin/chromium';

let chromiumProbe: Promise<string | undefined> | undefined;

/** `undefined` when Chromium is installed, else why the browser suites are skipped. */
export function chromiumSkipReason(): Promise<string | undefined> {
  chromiumProbe ??= requirement(`Chromium at ${chromiumPath}`, async () => {
    await access(chromiumPath, constants.X_OK);
  });
  return chromiumProbe;
}

let postgresProbe: Promise<string | undefined> | undefined;
let natsProbe: Promise<string | undefined> | undefined;

/** `undefined` when PostgreSQL is up, else why the suite is skipped. */
export function postgresSkipReason(): Promise<string | undefined> {
  postgresProbe ??= requirement(`PostgreSQL at ${redact(postgresUrl)}`, async () => {
    const client = new pg.Client({ connectionString: postgresUrl, connectionTimeoutMillis: 2_000 });
    await client.connect();
    await client.end();
  });
  return postgresProbe;
}

/** `undefined` when NATS with JetStream is up, else why the suite is skipped. */
export function natsSkipReason(): Promise<string | undefined> {
  natsProbe ??= requirement(`NATS JetStream at ${natsUrl}`, async () => {
    const nc = await connect({ servers: natsUrl, timeout: 2_000, reconnect: false });
    try {
      const reply = await nc.request('$JS.API.INFO', undefined, { timeout: 2_000 });
      const info = reply.json<{ error?: { description?: string } }>();
      if (info.error) throw new Error(`JetStream: ${info.error.description ?? 'unavailable'}`);
    } finally {
      await nc.close();
    }
  });
  return natsProbe;
}

export interface TestDatabase {
  readonly url: string;
  readonly name: string;
  /** Drops the database, closing whatever connections are still open on it. */
  drop(): Promise<void>;
}

/** Creates a uniquely named database on the test server, so parallel suites never collide. */
export async function createTestDatabase(prefix = 'cads_test'): Promise<TestDatabase> {
  return createNamedTestDatabase(`${prefix}_${randomUUID().replaceAll('-', '').slice(0, 12)}`);
}

/**
 * A database with exactly this name (a test that needs names of a pattern, e.g. one per
 * service), which the test makes unique and drops.
 */
export async function createNamedTestDatabase(name: string): Promise<TestDatabase> {
  await admin(`create database "${name}"`);
  const url = new URL(postgresUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: () => admin(`drop database if exists "${name}" with (force)`),
  };
}

async function admin(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/** A unique name for streams, subjects and groups of one test run. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${randomUUID().replaceAll('-', '').slice(0, 10)}`;
}

function redact(url: string): string {
  const parsed = new URL(url);
  parsed.password = parsed.password ? '***' : '';
  return parsed.toString();
}
