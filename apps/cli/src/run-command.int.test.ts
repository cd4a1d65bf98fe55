import { once } from 'node:events';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import {
  createNamedTestDatabase,
  createTestDatabase,
  postgresSkipReason,
  postgresUrl,
  type TestDatabase,
  uniqueName,
  testInternalSecret,
} from '@cads/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const main = fileURLToPath(new URL('./main.ts', import.meta.url));
const skip = await postgresSkipReason();

/**
 * `cads run` is what a supervisor restarts when it dies: a start that fails must end the
 * process, never leave it alive and serving nothing (its database pool and consumer would keep
 * it running, unready for good, and no supervisor would step in).
 */
describe.skipIf(skip !== undefined)(`cads run${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let database: TestDatabase;
  let broker: TestDatabase;
  let taken: Server;
  let port: number;

  beforeAll(async () => {
    database = await createTestDatabase('cads_run_rider');
    broker = await createTestDatabase('cads_run_broker');
    taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    port = (taken.address() as { port: number }).port;
  });

  afterAll(async () => {
    taken?.close();
    await database?.drop();
    await broker?.drop();
  });

  it('refuses to start without the internal secret, saying which variable', async () => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      CADS_DATABASE_URL: database.url,
      CADS_BROKER_URL: broker.url,
      CADS_INTERNAL_SECRET: 'too-short',
    };
    const child = spawn(process.execPath, ['--import', 'tsx', main, 'run', 'order'], {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(2);
    expect(stderr).toMatch(/^cads: run needs CADS_INTERNAL_SECRET \(at least 32 characters/);
  }, 60_000);

  it('exits with 1 and one line when its port is taken after everything else started', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', main, 'run', 'rider'], {
      env: {
        ...process.env,
        CADS_DATABASE_URL: database.url,
        CADS_BROKER_URL: broker.url,
        CADS_INTERNAL_SECRET: testInternalSecret,
        CADS_PORT: String(port),
        CADS_LOG_LEVEL: 'silent',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve(null);
      }, 60_000);
      child.once('exit', (exitCode) => {
        clearTimeout(timer);
        resolve(exitCode);
      });
    });
    expect(code, `still running after 60 s; stderr: ${stderr}`).toBe(1);
    expect(stderr).toMatch(
      /^cads: listen EADDRINUSE: address already in use 127\.0\.0\.1:\d+: another process listens there; .*\n$/,
    );
    expect(stderr.trim().split('\n')).toHaveLength(1);
  }, 90_000);
});

/**
 * A small deployment runs several services in one process (`cads run a,b`): each keeps its own
 * database (CADS_DATABASE_URL names it with `{service}`) and listens on its own port.
 */
describe.skipIf(skip !== undefined)(
  `cads run with several services${skip ? ` (skipped: ${skip})` : ''}`,
  () => {
    const tag = uniqueName('cads_run');
    const names = { externals: `${tag}_externals`, notifications: `${tag}_notifications` };
    const urlOf = (name: string) => {
      const url = new URL(postgresUrl);
      url.pathname = `/${name}`;
      return url.toString();
    };
    const databases: TestDatabase[] = [];

    beforeAll(async () => {
      for (const name of Object.values(names)) databases.push(await createNamedTestDatabase(name));
    });

    afterAll(async () => {
      for (const database of databases) await database.drop();
    });

    const run = (services: string, databaseUrl: string, port: number) =>
      spawn(process.execPath, ['--import', 'tsx', main, 'run', services], {
        env: {
          ...process.env,
          CADS_DATABASE_URL: databaseUrl,
          CADS_BROKER_URL: urlOf(names.externals),
          CADS_INTERNAL_SECRET: testInternalSecret,
          CADS_PORT: String(port),
          CADS_LOG_LEVEL: 'silent',
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      });

    it('serves each on its own port, with its own database', async () => {
      const port = await freePorts(2);
      // Written as an operator would: a URL object would percent-encode the braces.
      const template = urlOf(`${tag}_SERVICE`).replace('SERVICE', '{service}');
      const child = run('externals,notifications', template, port);
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      try {
        const ready = async (url: string) => {
          for (let tries = 0; tries < 240; tries++) {
            const status = await fetch(`${url}/ready`).then(
              (response) => response.status,
              () => 0,
            );
            if (status === 200) return status;
            await new Promise((resolve) => setTimeout(resolve, 250));
          }
          return 0;
        };
        expect(await ready(`http://127.0.0.1:${port}`)).toBe(200);
        expect(await ready(`http://127.0.0.1:${port + 1}`)).toBe(200);
        // Each service migrated its own database only.
        const componentsOf = async (name: string) => {
          const client = new pg.Client({ connectionString: urlOf(name) });
          await client.connect();
          try {
            const { rows } = await client.query<{ component: string }>(
              'select distinct component from public.cads_migrations',
            );
            return rows.map((row) => row.component);
          } finally {
            await client.end();
          }
        };
        expect(await componentsOf(names.externals)).toContain('externals');
        expect(await componentsOf(names.externals)).not.toContain('notifications');
        expect(await componentsOf(names.notifications)).toContain('notifications');
        expect(await componentsOf(names.notifications)).not.toContain('externals');
        const openapi = async (url: string) =>
          ((await (await fetch(`${url}/openapi.json`)).json()) as { info: { title: string } }).info
            .title;
        expect(await openapi(`http://127.0.0.1:${port}`)).toBe('CADS externals');
        expect(await openapi(`http://127.0.0.1:${port + 1}`)).toBe('CADS notifications');
      } finally {
        child.kill('SIGTERM');
        expect(await exited).toBe(0);
      }
    }, 120_000);

    it('refuses several services on one database', async () => {
      const child = run('externals,notifications', urlOf(names.externals), 0);
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      expect(code).toBe(2);
      expect(stderr).toMatch(/needs \{service\} in CADS_DATABASE_URL/);
    }, 60_000);
  },
);

/** The first of `count` consecutive free ports. */
async function freePorts(count: number): Promise<number> {
  for (;;) {
    const first = await new Promise<number>((resolve) => {
      const server = createServer();
      server.listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    });
    const others = await Promise.all(
      Array.from(
        { length: count - 1 },
        (_, index) =>
          new Promise<boolean>((resolve) => {
            const server = createServer();
            server.once('error', () => resolve(false));
            server.listen(first + index + 1, '127.0.0.1', () => server.close(() => resolve(true)));
          }),
      ),
    );
    if (others.every(Boolean)) return first;
  }
}
