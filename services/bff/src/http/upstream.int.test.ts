import { testCredentials, testInternalSecret } from '@cads/testing';
import { readServiceToken } from '@cads/http';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createUpstream } from './upstream.ts';

/** The BFF signs each call with a token acting for the session's user. */
const bff = testCredentials('bff');
let server: Server;
let url: string;
let connections: number;
let delayMs: number;

beforeEach(async () => {
  connections = 0;
  delayMs = 20;
  server = createServer((request, response) => {
    setTimeout(() => {
      const orderId = request.url?.split('/').at(-1);
      if (orderId === 'refused') {
        response.writeHead(401, { 'content-type': 'application/json' }).end('{}');
        return;
      }
      if (orderId === 'missing') {
        response.writeHead(404).end();
        return;
      }
      response
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ orderId, authorization: request.headers.authorization }));
    }, delayMs);
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('the upstream client', () => {
  it('serves a burst of calls over at most maxConnections sockets', async () => {
    const upstream = createUpstream({
      orderUrl: url,
      notificationsUrl: url,
      maxConnections: 4,
      credentials: bff,
    });
    const orders = await Promise.all(
      Array.from({ length: 200 }, (_, index) => upstream.findOrder('u-1', `o-${index}`)),
    );
    expect(orders.map((order) => order?.orderId)).toEqual(
      Array.from({ length: 200 }, (_, index) => `o-${index}`),
    );
    const { authorization } = orders[0] as unknown as { authorization: string };
    expect(
      await readServiceToken({ secret: testInternalSecret, audience: 'order' }, authorization),
    ).toEqual({ service: 'bff', userId: 'u-1' });
    expect(await upstream.findOrder('u-1', 'missing')).toBeUndefined();
    expect(connections).toBeLessThanOrEqual(4);
    upstream.close();
  });

  it('answers 503, not 401, when a service refuses the BFF’s credential', async () => {
    const upstream = createUpstream({ orderUrl: url, notificationsUrl: url, credentials: bff });
    await expect(upstream.findOrder('u-1', 'refused')).rejects.toMatchObject({
      code: 'CADS_UNAVAILABLE',
    });
    upstream.close();
  });

  it('gives up after timeoutMs, queueing for a connection included', async () => {
    delayMs = 300;
    const upstream = createUpstream({
      orderUrl: url,
      notificationsUrl: url,
      maxConnections: 1,
      timeoutMs: 100,
      credentials: bff,
    });
    await expect(upstream.findOrder('u-1', 'o-1')).rejects.toMatchObject({
      code: 'CADS_UNAVAILABLE',
    });
    upstream.close();
  });
});
