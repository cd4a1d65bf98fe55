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
  // A restart after SIGKILL recovers the JetStream store first; on a loaded machine that takes
  // well over the seconds it takes on a quiet one, so the wait is long. A server that exits
  // (e.g. its port not yet free) is started again, and its last words end up in the error.
  const start = async () => {
    let output = '';
    const spawnServer = () => {
      const started = spawn(
        natsServerPath,
        ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      started.stderr?.on('data', (chunk: Buffer) => {
        output = `${output}${chunk.toString()}`.slice(-2_000);
      });
      child = started;
    };
    spawnServer();
    try {
      await waitFor(
        `nats-server on ${port}`,
        async () => {
          if (child && (child.exitCode !== null || child.signalCode !== null)) spawnServer();
          return accepting(port);
        },
        { timeoutMs: 60_000, intervalMs: 200 },
      );
    } catch (error) {
      throw new Error(`${(error as Error).message}; its output: ${output.trim() || '(none)'}`, {
        cause: error,
      });
    }
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
