import { serviceCredentials } from '@cads/http';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LedgerEntry } from '../contracts/api.ts';
import {
  admin,
  callerHeaders,
  type ExternalsHarness,
  newOrder,
  startExternals,
} from '../testing/externals-harness.ts';

let externals: ExternalsHarness;
beforeAll(async () => {
  externals = await startExternals();
});
afterAll(async () => {
  await externals?.close();
});

const seedCart = {
  restaurantId: '48hbfe4',
  cart: [
    { itemId: 'p01', amount: 3 },
    { itemId: 'p02', amount: 2 },
  ],
};

/** Every non-2xx answer of the externals carries `{ reason }`, problems included. */
function reasonOf(response: LightMyRequestResponse): string {
  const { reason } = response.json<{ reason?: unknown }>();
  if (typeof reason !== 'string') throw new Error(`no reason in ${response.body}`);
  return reason;
}

async function ledgerOf(orderId: string): Promise<LedgerEntry[]> {
  const response = await externals.request('GET', `/api/payment/ledger?orderId=${orderId}`, {
    headers: admin,
  });
  expect(response.statusCode).toBe(200);
  return response.json<LedgerEntry[]>();
}

describe('restaurant', () => {
  it('reserves at the catalogue price with the restaurant phone and address, then releases', async () => {
    const order = newOrder();
    const reserved = await externals.call('POST', 'restaurant', { ...order, ...seedCart });
    expect(reserved.statusCode).toBe(201);
    const { reservationId } = reserved.json<{ reservationId: string }>();
    expect(reservationId).toMatch(/^[0-9a-f-]{36}$/);
    expect(reserved.json()).toEqual({
      reservationId,
      priceCents: 5230,
      restaurantPhone: '+34 91 555 02 64',
      restaurantAddress: 'Calle del Pez 7, Madrid',
    });
    const list = () =>
      externals.request('GET', `/api/restaurant/reservations?orderId=${order.orderId}`, {
        headers: admin,
      });
    expect((await list()).json()).toEqual([
      expect.objectContaining({ ...order, priceCents: 5230, status: 'active' }),
    ]);

    expect((await externals.call('DELETE', 'restaurant', order)).statusCode).toBe(204);
    const [released] = (await list()).json<{ status: string; releasedAt: string }[]>();
    expect(released?.status).toBe('released');
    // Releasing again (a new key) is still 204 and changes nothing.
    expect((await externals.call('DELETE', 'restaurant', order)).statusCode).toBe(204);
    expect((await list()).json()).toEqual([released]);
  });

  it('refuses an unknown dish or restaurant with 422 and a reason, and replays it', async () => {
    const order = newOrder();
    const body = { ...order, restaurantId: '48hbfe4', cart: [{ itemId: 'p99', amount: 1 }] };
    const refused = await externals.call('POST', 'restaurant', body, 'dish-key');
    expect(refused.statusCode).toBe(422);
    expect(refused.json()).toEqual({ reason: 'unknown dish p99 (cart line 0)' });
    const again = await externals.call('POST', 'restaurant', body, 'dish-key');
    expect([again.statusCode, again.body]).toEqual([422, refused.body]);
    const unknown = await externals.call('POST', 'restaurant', { ...body, restaurantId: 'x' });
    expect([unknown.statusCode, unknown.json()]).toEqual([422, { reason: 'unknown restaurant x' }]);
  });

  it('releasing what was never reserved is 204 and records nothing', async () => {
    const order = newOrder();
    expect((await externals.call('DELETE', 'restaurant', order)).statusCode).toBe(204);
    const list = await externals.request(
      'GET',
      `/api/restaurant/reservations?orderId=${order.orderId}`,
      { headers: admin },
    );
    expect(list.json()).toEqual([]);
  });

  it('applies a configured failure to DELETE too, without effect', async () => {
    const order = newOrder();
    await externals.call('POST', 'restaurant', { ...order, ...seedCart });
    await externals.configure(`order:${order.orderId}`, {
      restaurant: { delete: { response: 503 } },
    });
    const refused = await externals.call('DELETE', 'restaurant', order);
    expect([refused.statusCode, refused.json()]).toEqual([503, { reason: 'restaurant busy' }]);
    const list = await externals.request(
      'GET',
      `/api/restaurant/reservations?orderId=${order.orderId}`,
      { headers: admin },
    );
    expect(list.json()).toEqual([expect.objectContaining({ status: 'active' })]);
  });
});

describe('rider', () => {
  it('assigns a plausible rider, the same name for the same order, and unassigns', async () => {
    const order = newOrder();
    const assigned = await externals.call('POST', 'rider', order);
    expect(assigned.statusCode).toBe(201);
    const rider = assigned.json<{ riderId: string; riderName: string; riderPhone: string }>();
    expect(rider.riderName).toMatch(/^\w+ \w+$/);
    expect(rider.riderPhone).toMatch(/^\+34 /);
    expect((await externals.call('DELETE', 'rider', order)).statusCode).toBe(204);
    const list = await externals.request('GET', `/api/rider/assignments?orderId=${order.orderId}`, {
      headers: admin,
    });
    expect(list.json()).toEqual([
      expect.objectContaining({ ...rider, ...order, status: 'released' }),
    ]);
  });
});

describe('payment', () => {
  it('books a charge, and a refund of the charged amount on DELETE, once', async () => {
    const order = newOrder();
    const charged = await externals.call('POST', 'payment', { ...order, amountCents: 5230 });
    expect(charged.statusCode).toBe(201);
    const { receiptId } = charged.json<{ receiptId: string; amountCents: number }>();
    expect(charged.json()).toEqual({ receiptId, amountCents: 5230 });
    expect((await externals.call('DELETE', 'payment', order)).statusCode).toBe(204);
    expect((await externals.call('DELETE', 'payment', order)).statusCode).toBe(204);
    const ledger = await ledgerOf(order.orderId);
    expect(
      ledger.map(({ at, ...entry }) => ({ ...entry, at: !Number.isNaN(Date.parse(at)) })),
    ).toEqual([
      { ...order, kind: 'charge', amountCents: 5230, receiptId, at: true },
      { ...order, kind: 'refund', amountCents: 5230, receiptId, at: true },
    ]);
    const byUser = await externals.request('GET', `/api/payment/ledger?userId=${order.userId}`, {
      headers: admin,
    });
    expect(byUser.json()).toEqual(ledger);
  });

  it('a 402 answers the reason and books nothing', async () => {
    const order = newOrder();
    await externals.configure(`user:${order.userId}`, { payment: { post: { response: 402 } } });
    const refused = await externals.call('POST', 'payment', { ...order, amountCents: 100 });
    expect([refused.statusCode, refused.json()]).toEqual([
      402,
      { reason: 'payment platform busy' },
    ]);
    await externals.configure(`user:${order.userId}`, {
      payment: { post: { reason: 'card declined' } },
    });
    const declined = await externals.call('POST', 'payment', { ...order, amountCents: 100 });
    expect(declined.json()).toEqual({ reason: 'card declined' });
    expect(await ledgerOf(order.orderId)).toEqual([]);
  });

  it('refunding an order never charged is 204 and books nothing', async () => {
    const order = newOrder();
    expect((await externals.call('DELETE', 'payment', order)).statusCode).toBe(204);
    expect(await ledgerOf(order.orderId)).toEqual([]);
  });
});

describe('request validation', () => {
  it('needs an Idempotency-Key on POST and DELETE', async () => {
    const order = newOrder();
    for (const method of ['POST', 'DELETE'] as const) {
      const response = await externals.request(method, '/api/rider', {
        body: order,
        headers: await callerHeaders(),
      });
      expect(response.statusCode).toBe(400);
      expect(response.json()).toMatchObject({ code: 'CADS_VALIDATION' });
      expect(reasonOf(response)).toContain('idempotency-key');
    }
  });

  it('refuses extra body fields and bad values with 400 and a reason', async () => {
    const order = newOrder();
    const extra = await externals.call('POST', 'payment', { ...order, amountCents: 1, tip: 5 });
    expect(extra.statusCode).toBe(400);
    expect(reasonOf(extra)).toContain('body/tip is not allowed');
    const bad = await externals.call('POST', 'restaurant', {
      ...order,
      ...seedCart,
      cart: [{ itemId: 'p01', amount: 0 }],
    });
    expect(bad.statusCode).toBe(400);
    expect(reasonOf(bad)).toContain('body/cart/0/amount');
    expect(await ledgerOf(order.orderId)).toEqual([]);
  });
});

describe('service tokens', () => {
  it('refuse every call without a valid token (401), with no effect', async () => {
    const order = newOrder();
    const bodies = {
      restaurant: { ...order, ...seedCart },
      rider: order,
      payment: { ...order, amountCents: 700 },
    };
    const forged = serviceCredentials({
      secret: 'not-the-internal-secret-0123456789abcd',
      service: 'payment',
    });
    for (const authorization of [undefined, await forged.authorization('externals')]) {
      for (const [system, body] of Object.entries(bodies)) {
        for (const method of ['POST', 'DELETE'] as const) {
          const response = await externals.request(method, `/api/${system}`, {
            body,
            headers: {
              'idempotency-key': `${order.orderId}:${system}`,
              ...(authorization === undefined ? {} : { authorization }),
            },
          });
          expect(response.statusCode, `${method} ${system}`).toBe(401);
          expect(response.headers['www-authenticate']).toContain('Bearer');
        }
      }
    }
    expect(await ledgerOf(order.orderId)).toEqual([]);
    const reservations = await externals.request(
      'GET',
      `/api/restaurant/reservations?orderId=${order.orderId}`,
      { headers: admin },
    );
    expect(reservations.json()).toEqual([]);
  });
});

describe('public surface', () => {
  it('serves the menu without credentials and documents the routes in OpenAPI', async () => {
    const menu = await externals.request('GET', '/api/menu');
    expect(menu.statusCode).toBe(200);
    expect(menu.json<{ id: string }[]>().map((restaurant) => restaurant.id)).toEqual([
      '385hf83',
      '48hbfe4',
      'j48nfiu',
      'kf894jd',
    ]);
    const openapi = await externals.request('GET', '/openapi.json');
    const paths = Object.keys(openapi.json<{ paths: Record<string, unknown> }>().paths);
    expect(paths).toEqual(
      expect.arrayContaining([
        '/api/restaurant',
        '/api/rider',
        '/api/payment',
        '/api/config',
        '/api/config/reset',
        '/api/payment/ledger',
        '/api/menu',
      ]),
    );
  });
});
