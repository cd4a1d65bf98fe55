import { type AddressInfo, createServer, connect as dial, type Socket } from 'node:net';

export interface BalancerOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** `host:port` of each instance behind it. */
  readonly backends: readonly string[];
  /** Limit of one connection attempt to a backend. Default 2 000. */
  readonly connectTimeoutMs?: number;
}

export interface Balancer {
  /** `http://host:port` of the entry point. */
  readonly url: string;
  /** Connections handed to each backend so far, by `host:port`. */
  readonly handedOut: ReadonlyMap<string, number>;
  close(): Promise<void>;
}

/**
 * The cluster's entry point in front of several BFF instances: a TCP round-robin balancer, so
 * HTTP, SSE and WebSocket pass through unchanged (the session is a cookie any instance reads).
 *
 * A connection goes to the next backend in turn; when that one refuses or does not answer in
 * time, the next one is tried, so a dead instance costs a client nothing but a retry inside
 * the balancer. Bytes the client sent meanwhile are held (the client is paused) and forwarded
 * once a backend accepted. When every backend fails, the client's connection is closed.
 */
export async function startBalancer(options: BalancerOptions): Promise<Balancer> {
  if (options.backends.length === 0) throw new Error('the balancer needs at least one backend');
  const backends = options.backends.map((backend) => {
    const colon = backend.lastIndexOf(':');
    return { key: backend, host: backend.slice(0, colon), port: Number(backend.slice(colon + 1)) };
  });
  const connectTimeoutMs = options.connectTimeoutMs ?? 2_000;
  const handedOut = new Map(backends.map((backend) => [backend.key, 0]));
  const open = new Set<Socket>();
  let next = 0;

  const server = createServer({ pauseOnConnect: true }, (client) => {
    open.add(client);
    client.on('close', () => open.delete(client));
    client.on('error', () => client.destroy());
    const first = next;
    next = (next + 1) % backends.length;
    const attempt = (tried: number): void => {
      if (client.destroyed) return;
      if (tried === backends.length) {
        client.destroy();
        return;
      }
      const backend = backends[(first + tried) % backends.length]!;
      const upstream = dial({ host: backend.host, port: backend.port });
      upstream.setTimeout(connectTimeoutMs, () => upstream.destroy(new Error('connect timeout')));
      const failed = () => {
        upstream.destroy();
        attempt(tried + 1);
      };
      upstream.once('error', failed);
      upstream.once('connect', () => {
        upstream.setTimeout(0);
        upstream.off('error', failed);
        handedOut.set(backend.key, (handedOut.get(backend.key) ?? 0) + 1);
        open.add(upstream);
        const drop = () => {
          client.destroy();
          upstream.destroy();
          open.delete(upstream);
        };
        upstream.on('error', drop);
        upstream.on('close', drop);
        client.on('close', drop);
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      });
    };
    attempt(0);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host}:${port}`,
    handedOut,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of open) socket.destroy();
      }),
  };
}
