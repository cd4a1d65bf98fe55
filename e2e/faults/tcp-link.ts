import { createServer, connect as dial, type Socket } from 'node:net';
import { freePortRange } from '../saga/free-ports.ts';

/**
 * A TCP proxy on 127.0.0.1 in front of one server, so a suite can make that server unreachable
 * for one client (a service's database, say) while the server itself, and everyone else's
 * connections to it, carry on.
 */
export interface TcpLink {
  readonly port: number;
  /**
   * Drops every connection through the link and closes each new one at once, until `restore`:
   * the client sees its connections reset and every reconnection fail.
   */
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startTcpLink(targetPort: number): Promise<TcpLink> {
  const sockets = new Set<Socket>();
  let down = false;
  const server = createServer((client) => {
    if (down) {
      client.destroy();
      return;
    }
    const upstream = dial(targetPort, '127.0.0.1');
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', drop);
      socket.on('close', drop);
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  // Below the ephemeral range, like the cluster's ports.
  const port = await freePortRange(1);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const dropAll = () => {
    for (const socket of sockets) socket.destroy();
    sockets.clear();
  };
  return {
    port,
    cut() {
      down = true;
      dropAll();
    },
    restore() {
      down = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        dropAll();
      }),
  };
}
