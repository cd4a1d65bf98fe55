import { setTimeout as sleep } from 'node:timers/promises';
import { serviceCredentials, type ServiceCredentials } from '@cads/http';
import { httpRequest, keepAlive } from '../http.ts';

/** The seed's e2e order: Pizzeria, 3 × p01 + 2 × p02 = 52.30 EUR. */
export const seedOrder = {
  restaurantId: '48hbfe4',
  cart: [
    { itemId: 'p01', amount: 3 },
    { itemId: 'p02', amount: 2 },
  ],
};
const seedOrderBody = JSON.stringify(seedOrder);

/** Externals without delays: every call answers at once, with the default (accepting) outcome. */
export const noDelays = Object.fromEntries(
  ['restaurant', 'rider', 'payment'].map((system) => [
    system,
    { post: { delay: 0, randomDelay: 0 }, delete: { delay: 0, randomDelay: 0 } },
  ]),
);

/** The benchmark's HTTP: keep-alive connections, cheaper per request than `fetch`. */
const send = (url: string, method: string, headers: Record<string, string>, body?: string) =>
  httpRequest(url, { method, headers, ...(body === undefined ? {} : { body }) });

/** Where orders are placed: the order service, and the BFF's credentials for it. */
export interface OrderEndpoint {
  readonly url: string;
  readonly credentials: ServiceCredentials;
}

/** The order service of a system whose processes share `internalSecret`, signed as the BFF. */
export function orderEndpoint(url: string, internalSecret: string): OrderEndpoint {
  return { url, credentials: serviceCredentials({ secret: internalSecret, service: 'bff' }) };
}

/**
 * `POST /api/orders` as the BFF does (with its service token for the user); resolves to the
 * order's id, or throws with the answer.
 */
export async function placeOrder(order: OrderEndpoint, userId: string): Promise<string> {
  const answer = await send(
    `${order.url}/api/orders`,
    'POST',
    { authorization: await order.credentials.authorization('order', userId) },
    seedOrderBody,
  );
  if (answer.status !== 202)
    throw new Error(`POST /api/orders: ${answer.status} ${answer.body.slice(0, 200)}`);
  return (JSON.parse(answer.body) as { orderId: string }).orderId;
}

/** Deep-merges `config` into the externals' global configuration (admin). */
export async function configureExternals(
  externalsUrl: string,
  adminToken: string,
  config: unknown,
): Promise<void> {
  const answer = await send(
    `${externalsUrl}/api/config`,
    'POST',
    { authorization: `Bearer ${adminToken}` },
    JSON.stringify(config),
  );
  if (answer.status !== 202)
    throw new Error(`POST /api/config: ${answer.status} ${answer.body.slice(0, 200)}`);
}

/** Waits until `GET <url>/ready` answers 200 for every url. */
export async function waitReady(urls: readonly string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const url of urls) {
    for (;;) {
      const status = await send(`${url}/ready`, 'GET', {}).then(
        (answer) => answer.status,
        () => 0,
      );
      if (status === 200) break;
      if (Date.now() > deadline)
        throw new Error(`${url} not ready after ${timeoutMs} ms (last status ${status})`);
      await sleep(250);
    }
  }
}

/** GET a text resource (metrics). */
export async function getText(url: string, headers: Record<string, string> = {}): Promise<string> {
  const answer = await send(url, 'GET', headers);
  if (answer.status !== 200) throw new Error(`GET ${url}: ${answer.status}`);
  return answer.body;
}

export function closeConnections(): void {
  keepAlive.destroy();
}
