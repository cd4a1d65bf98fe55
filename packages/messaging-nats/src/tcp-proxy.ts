import { type AddressInfo, createServer, connect as dial, type Socket } from 'node:net';

/**
 * A TCP proxy in front of the shared NATS server, so a test can cut one client's connection (or
 * keep it from reconnecting) without touching the server other test runs use. Test support only.
 */
export interface TcpProxy {
  /** `nats://127.0.0.1:<port>` of the proxy. */
  readonly url: string;
  /** Drops every open connection; clients may reconnect unless refusing. */
  cut(): void;
  /** While refusing, new connections are closed at once: the client looks partitioned. */
  refuse(refusing: boolean): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetUrl: string): Promise<TcpProxy> {
  const target = new URL(targetUrl);
  const sockets = new Set<Socket>();
  let refusing = false;
  const server = createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = dial(Number(target.port || 4222), target.hostname);
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
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address: AddressInfo | string | null = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy is not on TCP');
  const { port } = address;
  const cut = () => {
    for (const socket of sockets) socket.destroy();
    sockets.clear();
  };
  return {
    url: `nats://127.0.0.1:${port}`,
    cut,
    refuse: (value) => {
      refusing = value;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        cut();
      }),
  };
}
