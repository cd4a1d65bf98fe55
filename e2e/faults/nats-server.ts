import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '@cads/messaging/testing';
import { freePortRange } from '../saga/free-ports.ts';

/** The Debian package's server binary. */
const natsServerPath = process.env.CADS_TEST_NATS_SERVER ?? '/usr/sbin/nats-server';

/**
 * A nats-server of the suite's own (free port, own store directory), so the suite may kill and
 * restart it without disturbing the machine's shared server.
 */
export interface OwnNatsServer {
  readonly url: string;
  /** SIGKILLs the server (no clean shutdown), then starts it again on the same port and store. */
  restart(downMs: number): Promise<void>;
  stop(): Promise<void>;
}

async function accepting(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(true));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(false)));
  });
}

export async function startOwnNatsServer(): Promise<OwnNatsServer> {
  // Below the ephemeral range: while the server is down, its clients keep reconnecting, and
  // one of their outgoing connections could otherwise be given the port (even connect to
  // itself through it), so the server could not listen there again.
  const port = await freePortRange(1);
  const storeDir = await mkdtemp(join(tmpdir(), 'cads-nats-'));
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn(natsServerPath, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir], {
      stdio: 'ignore',
    });
    await waitFor(`nats-server on ${port}`, () => accepting(port), { timeoutMs: 10_000 });
  };
  const kill = async (signal: NodeJS.Signals) => {
    const running = child;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill(signal);
    await exited;
  };
  await start();
  return {
    url: `nats://127.0.0.1:${port}`,
    async restart(downMs) {
      await kill('SIGKILL');
      await new Promise((resolve) => setTimeout(resolve, downMs));
      await start();
    },
    async stop() {
      await kill('SIGTERM');
      await rm(storeDir, { recursive: true, force: true });
    },
  };
}
