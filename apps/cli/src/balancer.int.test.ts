import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type Balancer, startBalancer } from './balancer.ts';

const servers: Server[] = [];
let balancer: Balancer | undefined;

afterEach(async () => {
  await balancer?.close();
  balancer = undefined;
  for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
});

/** An HTTP backend that answers its name. */
async function backend(name: string): Promise<string> {
  const server = createServer((request, response) => {
    response.setHeader('connection', 'close');
    response.end(name);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A port nothing listens on (a dead instance). */
async function deadPort(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return `127.0.0.1:${port}`;
}

const ask = async (url: string) => (await fetch(url, { headers: { connection: 'close' } })).text();

describe('the round-robin balancer', () => {
  it('hands connections to each backend in turn', async () => {
    balancer = await startBalancer({
      host: '127.0.0.1',
      port: 0,
      backends: [await backend('a'), await backend('b')],
    });
    const answers = [];
    for (let i = 0; i < 6; i++) answers.push(await ask(balancer.url));
    expect(answers.sort()).toEqual(['a', 'a', 'a', 'b', 'b', 'b']);
  });

  it('skips a dead backend without the client noticing', async () => {
    balancer = await startBalancer({
      host: '127.0.0.1',
      port: 0,
      backends: [await deadPort(), await backend('alive')],
    });
    for (let i = 0; i < 4; i++) expect(await ask(balancer.url)).toBe('alive');
  });

  it('closes the client connection when every backend is down', async () => {
    balancer = await startBalancer({
      host: '127.0.0.1',
      port: 0,
      backends: [await deadPort(), await deadPort()],
    });
    await expect(fetch(balancer.url)).rejects.toThrow();
  });
});
