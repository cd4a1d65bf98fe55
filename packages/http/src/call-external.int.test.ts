import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { callExternal } from './call-external.ts';

interface Seen {
  readonly method: string | undefined;
  readonly key: string | undefined;
  readonly authorization: string | undefined;
  readonly body: string;
}

/** A local server answering each request with the next scripted step. */
async function scripted(
  steps: Array<(response: ServerResponse) => void>,
): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      seen.push({
        method: request.method,
        key: request.headers['idempotency-key'] as string | undefined,
        authorization: request.headers.authorization,
        body,
      });
      const step = steps[Math.min(seen.length, steps.length) - 1];
      step?.(response);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/api/warehouse`, seen };
}

const json = (status: number, body: unknown) => (response: ServerResponse) => {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
};
const hang = () => (_response: ServerResponse) => undefined;

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

describe('callExternal', () => {
  it('retries 5xx answers and returns the first success, with the same key every time', async () => {
    const { url, seen } = await scripted([
      json(503, { reason: 'warehouse busy' }),
      json(503, { reason: 'warehouse busy' }),
      json(201, { reservationId: 'r1' }),
    ]);
    const result = await callExternal({
      method: 'POST',
      url,
      idempotencyKey: 'o1:warehouse:reserve',
      body: { bookingId: 'o1' },
      baseDelayMs: 5,
    });
    expect(result).toEqual({ ok: true, status: 201, body: { reservationId: 'r1' } });
    expect(seen).toHaveLength(3);
    expect(seen.map((request) => request.key)).toEqual(Array(3).fill('o1:warehouse:reserve'));
    expect(JSON.parse(seen[0]?.body ?? '')).toEqual({ bookingId: 'o1' });
  });

  it('sends the authorization it is given, asked for anew before each attempt', async () => {
    const { url, seen } = await scripted([json(503, {}), json(200, {})]);
    let asked = 0;
    const result = await callExternal({
      method: 'DELETE',
      url,
      idempotencyKey: 'k',
      baseDelayMs: 5,
      authorization: () => Promise.resolve(`Bearer token-${++asked}`),
    });
    expect(result.ok).toBe(true);
    expect(seen.map((request) => request.authorization)).toEqual([
      'Bearer token-1',
      'Bearer token-2',
    ]);
  });

  it('returns a 4xx at once, with the reason from the body', async () => {
    const { url, seen } = await scripted([json(404, { reason: 'no courier available' })]);
    const result = await callExternal({
      method: 'POST',
      url,
      idempotencyKey: 'k',
      baseDelayMs: 5,
    });
    expect(result).toEqual({ ok: false, status: 404, reason: 'no courier available' });
    expect(seen).toHaveLength(1);
  });

  it('keeps the last 5xx with its reason when every attempt fails', async () => {
    const { url, seen } = await scripted([json(503, { reason: 'warehouse busy' })]);
    const result = await callExternal({
      method: 'DELETE',
      url,
      idempotencyKey: 'k',
      attempts: 2,
      baseDelayMs: 5,
    });
    expect(result).toEqual({ ok: false, status: 503, reason: 'warehouse busy' });
    expect(seen.map((request) => request.method)).toEqual(['DELETE', 'DELETE']);
  });

  it('retries a timed-out attempt', async () => {
    const { url, seen } = await scripted([hang(), json(200, { done: true })]);
    const result = await callExternal({
      method: 'POST',
      url,
      idempotencyKey: 'k',
      timeoutMs: 100,
      baseDelayMs: 5,
    });
    expect(result).toEqual({ ok: true, status: 200, body: { done: true } });
    expect(seen).toHaveLength(2);
  });

  it('names the system, the attempts and the failure when it never answers', async () => {
    const { url } = await scripted([hang()]);
    const result = await callExternal({
      method: 'POST',
      url,
      idempotencyKey: 'k',
      system: 'warehouse system',
      timeoutMs: 50,
      attempts: 2,
      baseDelayMs: 5,
    });
    expect(result).toEqual({
      ok: false,
      status: undefined,
      reason: 'warehouse system unreachable after 2 attempts: timeout',
    });
  });

  it('gives up after the bounded attempts when the connection is refused', async () => {
    const { url } = await scripted([]);
    const server = servers.pop();
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    const result = await callExternal({
      method: 'POST',
      url,
      idempotencyKey: 'k',
      system: 'bank',
      attempts: 3,
      baseDelayMs: 5,
    });
    expect(result).toEqual({
      ok: false,
      status: undefined,
      reason: 'bank unreachable after 3 attempts: ECONNREFUSED',
    });
  });
});
