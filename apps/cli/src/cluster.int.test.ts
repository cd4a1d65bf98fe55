import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { type ClusterProcess, type ReadinessView, untilClusterReady } from './cluster.ts';
import { OperatorError } from './operator-error.ts';

/** A process stand-in answering `/ready` with whatever `status` says at the time. */
async function probeTarget(status: { value: number }): Promise<{ url: string; server: Server }> {
  const server = createServer((request, response) => {
    response.statusCode = request.url === '/ready' ? status.value : 404;
    response.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe('untilClusterReady', () => {
  const servers: Server[] = [];
  afterAll(async () => {
    for (const server of servers) {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  const cluster = async (statuses: {
    order: { value: number };
    bff: { value: number };
    entry: { value: number };
  }): Promise<ReadinessView> => {
    const order = await probeTarget(statuses.order);
    const bff = await probeTarget(statuses.bff);
    const entry = await probeTarget(statuses.entry);
    servers.push(order.server, bff.server, entry.server);
    const member = (service: 'order' | 'bff', url: string, restarts: number): ClusterProcess => ({
      service,
      instance: 0,
      url,
      pid: 1,
      startedAt: 0,
      restarts,
    });
    return {
      urls: { bff: entry.url },
      processes: () => [member('order', order.url, 0), member('bff', bff.url, 3)],
    };
  };

  it('returns once every process and the entry point answer /ready with 200', async () => {
    const statuses = { order: { value: 503 }, bff: { value: 200 }, entry: { value: 503 } };
    const running = await cluster(statuses);
    let ready = false;
    const waiting = untilClusterReady(running, { intervalMs: 20 }).then(() => {
      ready = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(ready).toBe(false);
    statuses.order.value = 200;
    statuses.entry.value = 200;
    await waiting;
    expect(ready).toBe(true);
  });

  it('gives up after the timeout, naming what is not ready and how often it restarted', async () => {
    const running = await cluster({
      order: { value: 200 },
      bff: { value: 503 },
      entry: { value: 503 },
    });
    const failure = await untilClusterReady(running, { timeoutMs: 300, intervalMs: 20 }).catch(
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(OperatorError);
    expect((failure as Error).message).toBe(
      `the cluster is not ready after 0.3 s: bff#1 (restarted 3 times), the entry point ` +
        `${running.urls.bff} not answering GET /ready with 200. ` +
        'Their log above says why; PostgreSQL and NATS must be up.',
    );
  });
});
