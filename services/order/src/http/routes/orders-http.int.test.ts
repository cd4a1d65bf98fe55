import { serviceCredentials } from '@cads/http';
import { waitFor } from '@cads/messaging/testing';
import { testCredentials } from '@cads/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readOrderStatus } from '../../store/orders.ts';
import {
  observe,
  type OrderHarness,
  outcome,
  seedData,
  seedOrder,
  startOrderHarness,
} from '../../testing/order-harness.ts';

const fixedNow = new Date('2025-03-01T10:00:00.000Z');
let clock = fixedNow.getTime();

describe('order HTTP API (PGlite)', () => {
  let harness: OrderHarness;
  let observer: Awaited<ReturnType<typeof observe>>;

  beforeAll(async () => {
    // Each order a second later than the previous, so history order is by creation.
    harness = await startOrderHarness({ now: () => new Date((clock += 1000)) });
    observer = await observe(harness.broker, ['order_created']);
  });
  afterAll(async () => {
    await observer?.stop();
    await harness?.close();
  });

  const bff = testCredentials('bff');
  const operator = testCredentials('operator');
  /** Places an order as the BFF acting for `userId`. */
  const post = async (body: unknown, userId = 'user-1') =>
    harness.service.app.inject({
      method: 'POST',
      url: '/api/orders',
      headers: {
        'content-type': 'application/json',
        authorization: await bff.authorization('order', userId),
      },
      payload: typeof body === 'string' ? body : JSON.stringify(body),
    });
  /** Reads as the BFF acting for `viewer`, or as an operator (no user) without one. */
  const get = async (url: string, viewer?: string) =>
    harness.service.app.inject({
      method: 'GET',
      url,
      headers: {
        authorization: await (viewer === undefined
          ? operator.authorization('order')
          : bff.authorization('order', viewer)),
      },
    });

  it('accepts a valid order: 202, stored with status 0, order_created on the broker', async () => {
    const response = await post(seedOrder, 'user-1');
    expect(response.statusCode).toBe(202);
    const { orderId, userId } = response.json<{ orderId: string; userId: string }>();
    expect(userId).toBe('user-1');
    expect(orderId).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    expect(await readOrderStatus(harness.db, orderId)).toBe(0);

    const event = await waitFor('order_created on the broker', () =>
      observer.messages.find((message) => message.subject === orderId),
    );
    expect(event).toMatchObject({
      specversion: '1.0',
      type: 'order_created',
      source: '/cads/order',
      subject: orderId,
      correlationid: `user-1-${orderId}`,
      dataschema: 'urn:cads:event:order_created:1',
      data: { orderId, userId: 'user-1', ...seedOrder, status: 0 },
    });
    expect(event.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(Date.parse(event.time)).toBeGreaterThan(fixedNow.getTime());

    const view = await get(`/api/orders/${orderId}`);
    expect(view.statusCode).toBe(200);
    expect(view.json()).toMatchObject({
      orderId,
      userId: 'user-1',
      restaurantId: seedOrder.restaurantId,
      cart: seedOrder.cart,
      status: 0,
      statusText: 'created',
      priceCents: 5230,
      compensated: [],
      timeline: [{ type: 'order_created', time: event.time, data: event.data }],
    });
  });

  it('continues the caller’s trace when it sends a valid traceparent', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const response = await harness.service.app.inject({
      method: 'POST',
      url: '/api/orders',
      headers: {
        authorization: await bff.authorization('order', 'user-1'),
        traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
      },
      payload: seedOrder,
    });
    const { orderId } = response.json<{ orderId: string }>();
    const event = await waitFor('order_created', () =>
      observer.messages.find((message) => message.subject === orderId),
    );
    expect(event.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    expect(event.traceparent).not.toContain('00f067aa0ba902b7');
  });

  const invalid: [string, unknown, string, RegExp][] = [
    [
      'an unknown restaurant',
      { ...seedOrder, restaurantId: 'nope' },
      'user-1',
      /body\/restaurantId: unknown restaurant nope/,
    ],
    [
      'an unknown dish',
      { ...seedOrder, cart: [{ itemId: 'x99', amount: 1 }] },
      'user-1',
      /body\/cart\/0\/itemId: unknown dish x99/,
    ],
    [
      'a repeated dish',
      {
        ...seedOrder,
        cart: [
          { itemId: 'p01', amount: 1 },
          { itemId: 'p01', amount: 1 },
        ],
      },
      'user-1',
      /body\/cart\/1\/itemId: dish p01 is already/,
    ],
    ['an empty cart', { ...seedOrder, cart: [] }, 'user-1', /body\/cart/],
    [
      'amount 0',
      { ...seedOrder, cart: [{ itemId: 'p01', amount: 0 }] },
      'user-1',
      /body\/cart\/0\/amount/,
    ],
    [
      'amount 51',
      { ...seedOrder, cart: [{ itemId: 'p01', amount: 51 }] },
      'user-1',
      /body\/cart\/0\/amount/,
    ],
    [
      'an extra field',
      { ...seedOrder, priceCents: 1 },
      'user-1',
      /body\/priceCents is not allowed/,
    ],
    ['malformed JSON', '{"restaurantId": ', 'user-1', /not valid JSON/],
  ];

  it.each(invalid)(
    'rejects %s with 400 naming the field, and stores nothing',
    async (_name, body, userId, reason) => {
      const before = await harness.db.query<{ n: number }>('select count(*)::int as n from orders');
      const response = await post(body, userId);
      expect(response.statusCode).toBe(400);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      const problem = response.json<{ status: number; code: string; detail: string }>();
      expect(problem.status).toBe(400);
      expect(problem.code).toMatch(/^CADS_(VALIDATION|MALFORMED_BODY)$/);
      expect(problem.detail).toMatch(reason);
      const after = await harness.db.query<{ n: number }>('select count(*)::int as n from orders');
      expect(after.rows[0]?.n).toBe(before.rows[0]?.n);
    },
  );

  it('answers 404 for an unknown order, and for another user’s order to a token acting for a user', async () => {
    const missing = await get('/api/orders/0197aaaa-0000-7000-8000-000000000000');
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ code: 'CADS_NOT_FOUND' });

    const { orderId } = (await post(seedOrder, 'owner')).json<{ orderId: string }>();
    expect((await get(`/api/orders/${orderId}`, 'owner')).statusCode).toBe(200);
    expect((await get(`/api/orders/${orderId}`, 'intruder')).statusCode).toBe(404);
    expect((await get(`/api/orders/${orderId}`)).statusCode).toBe(200);
  });

  it('lists a user’s orders newest first, with their current status', async () => {
    const userId = 'history-user';
    const ids: string[] = [];
    for (const restaurantId of ['48hbfe4', '385hf83', 'kf894jd']) {
      const cart = [
        {
          itemId: { '48hbfe4': 'p06', '385hf83': 'c01', kf894jd: 'b05' }[restaurantId] ?? '',
          amount: 2,
        },
      ];
      const response = await post({ restaurantId, cart }, userId);
      ids.push(response.json<{ orderId: string }>().orderId);
    }
    await post(seedOrder, 'someone-else');
    const first = { orderId: ids[0] ?? '', userId };
    await harness.broker.publish([
      outcome('restaurant_cancelled', first, seedData.restaurant_cancelled ?? {}),
    ]);
    await waitFor(
      'first order cancelled',
      async () => (await readOrderStatus(harness.db, first.orderId)) === 5,
    );

    const response = await get(`/api/orders?userId=${userId}`);
    expect(response.statusCode).toBe(200);
    const history = response.json<{
      userId: string;
      orders: {
        orderId: string;
        status: number;
        statusText: string;
        priceCents: number;
        createdAt: string;
      }[];
    }>();
    expect(history.userId).toBe(userId);
    expect(history.orders.map((order) => order.orderId)).toEqual([...ids].reverse());
    expect(history.orders.map((order) => order.priceCents)).toEqual([580, 500, 780]);
    expect(history.orders[2]).toMatchObject({ status: 5, statusText: 'cancelled' });
    expect(history.orders[0]).toMatchObject({ status: 0, statusText: 'created' });

    const limited = await get(`/api/orders?userId=${userId}&limit=1`);
    expect(limited.json<{ orders: unknown[] }>().orders).toHaveLength(1);
    expect((await get('/api/orders?userId=nobody')).json()).toEqual({
      userId: 'nobody',
      orders: [],
    });
  });

  it('requires userId on the history, and only the viewer’s own', async () => {
    const missing = await get('/api/orders');
    expect(missing.statusCode).toBe(400);
    expect(missing.json<{ detail: string }>().detail).toMatch(/querystring\/userId is required/);
    expect((await get('/api/orders?userId=a', 'b')).statusCode).toBe(403);
    expect((await get('/api/orders?userId=a', 'a')).statusCode).toBe(200);
  });

  it('refuses every route without a valid service token (401), leaving nothing behind', async () => {
    const { orderId } = (await post(seedOrder, 'owner')).json<{ orderId: string }>();
    const before = await harness.db.query<{ n: number }>('select count(*)::int as n from orders');
    const forged = serviceCredentials({
      secret: 'a-secret-of-someone-else-0123456789ab',
      service: 'bff',
    });
    const notifications = await bff.authorization('notifications', 'owner');
    for (const authorization of [
      undefined,
      'Bearer x',
      await forged.authorization('order', 'owner'),
      notifications,
    ]) {
      const headers = authorization === undefined ? {} : { authorization };
      const requests = [
        { method: 'POST' as const, url: '/api/orders', payload: seedOrder },
        { method: 'GET' as const, url: `/api/orders/${orderId}` },
        { method: 'GET' as const, url: '/api/orders?userId=owner' },
      ];
      for (const request of requests) {
        const answer = await harness.service.app.inject({ ...request, headers });
        expect(answer.statusCode, `${request.method} ${request.url}`).toBe(401);
        expect(answer.json()).toMatchObject({ code: 'CADS_UNAUTHORIZED' });
      }
    }
    const after = await harness.db.query<{ n: number }>('select count(*)::int as n from orders');
    expect(after.rows[0]?.n).toBe(before.rows[0]?.n);
  });

  it('lets only the BFF act for a user, and places no order for a token without one (403)', async () => {
    const rider = testCredentials('rider');
    const asRider = await harness.service.app.inject({
      method: 'POST',
      url: '/api/orders',
      headers: { authorization: await rider.authorization('order', 'user-1') },
      payload: seedOrder,
    });
    expect(asRider.statusCode).toBe(403);
    const withoutUser = await harness.service.app.inject({
      method: 'POST',
      url: '/api/orders',
      headers: { authorization: await bff.authorization('order') },
      payload: seedOrder,
    });
    expect(withoutUser.statusCode).toBe(403);
    expect(withoutUser.json<{ detail: string }>().detail).toMatch(/acting for a user/);
  });

  it('documents the routes and their response schemas in OpenAPI', async () => {
    const document = (await get('/openapi.json')).json<{
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
    }>();
    expect(Object.keys(document.paths['/api/orders/{id}']?.get?.responses ?? {})).toEqual([
      '200',
      '401',
      '404',
    ]);
    expect(Object.keys(document.paths['/api/orders']?.post?.responses ?? {})).toEqual([
      '202',
      '400',
      '401',
      '403',
    ]);
    expect(document.paths['/api/orders']?.get).toBeDefined();
  });
});
