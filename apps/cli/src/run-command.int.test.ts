import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createTestDatabase, postgresSkipReason, type TestDatabase } from '@cads/testing';
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

  it('exits with 1 and one line when its port is taken after everything else started', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', main, 'run', 'rider'], {
      env: {
        ...process.env,
        CADS_DATABASE_URL: database.url,
        CADS_BROKER_URL: broker.url,
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
