import { testCredentials, testInternalSecret } from '@cads/testing';
import { readServiceToken } from '@cads/http';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { foodSaga, foodSagaDeclaration } from '@cads/food-saga';
import { type Broker, createMessage } from '@cads/messaging';
import { waitFor } from '@cads/messaging/testing';
import { createPostgresBroker } from '@cads/messaging-postgres';
import { Id, type OrderView } from '@cads/order/contracts';
import { defineSaga, defineStep } from '@cads/saga';
import { createService, type Service } from '@cads/service';
import type { Database } from '@cads/storage';
import { openPglite, type PgliteHost } from '@cads/storage-pglite';
import pino from 'pino';
import Type from 'typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bffService } from './app.ts';

/** A step no production code knows: a kitchen between the restaurant and the rider. */
const Order = { orderId: Id, userId: Id };
const kitchenStep = defineStep({
  name: 'kitchen',
  label: 'Kitchen',
  input: Type.Object({ ...Order, priceCents: Type.Integer({ minimum: 0 }) }),
  success: {
    type: 'kitchen_accepted',
    schema: Type.Object({ ...Order, priceCents: Type.Integer({ minimum: 0 }) }),
  },
  failure: {
    type: 'kitchen_refused',
    schema: Type.Object({ ...Order, kitchenRefusalReason: Type.String({ minLength: 1 }) }),
    reasonField: 'kitchenRefusalReason',
  },
  compensation: { type: 'kitchen_released', schema: Type.Object(Order) },
});
const [restaurant, ...afterRestaurant] = foodSagaDeclaration.steps;
const kitchenSaga = defineSaga({
  ...foodSagaDeclaration,
  name: 'food-delivery-with-kitchen',
  steps: [restaurant, kitchenStep, ...afterRestaurant],
});

const secret = 'a-test-session-secret-of-enough-length';

/**
 * The order service and the notifications provider the BFF calls: every order exists (just
 * placed, of whoever asks), every notification is accepted and kept.
 */
async function startUpstreams() {
  const notifications: Record<string, unknown>[] = [];
  const server: Server = createServer((request, response) => {
    void (async () => {
      const body = await readBody(request);
      if (request.method === 'POST' && request.url === '/api/notifications') {
        notifications.push(JSON.parse(body) as Record<string, unknown>);
        response.writeHead(201, { 'content-type': 'application/json' }).end(body);
        return;
      }
      const orderId = /^\/api\/orders\/([^/?]+)$/.exec(request.url ?? '')?.[1];
      const caller = await readServiceToken(
        { secret: testInternalSecret, audience: 'order' },
        request.headers.authorization,
      );
      const userId = 'userId' in caller ? caller.userId : undefined;
      if (request.method === 'GET' && orderId && userId !== undefined) {
        response
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify(placedOrder(decodeURIComponent(orderId), userId)));
        return;
      }
      response.writeHead(404, { 'content-type': 'application/json' }).end('{}');
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    notifications,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function readBody(request: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of request) text += String(chunk);
  return text;
}

function placedOrder(orderId: string, userId: string): OrderView {
  const createdAt = new Date().toISOString();
  return {
    orderId,
    userId,
    restaurantId: '48hbfe4',
    cart: [{ itemId: 'p01', amount: 1 }],
    status: 0,
    statusText: 'created',
    priceCents: 950,
    createdAt,
    compensated: [],
    steps: kitchenSaga.steps.map(({ name, label }) => ({ name, label, state: 'pending' })),
    shown: [],
    timeline: [{ id: `${orderId}-created`, type: 'order_created', time: createdAt, data: {} }],
  };
}

describe('the BFF on a saga composed with a kitchen step (PGlite)', { timeout: 60_000 }, () => {
  let host: PgliteHost;
  let broker: Broker;
  let db: Database;
  let bff: Service;
  let bffUrl: string;
  let upstreams: Awaited<ReturnType<typeof startUpstreams>>;

  beforeAll(async () => {
    upstreams = await startUpstreams();
    host = await openPglite();
    broker = await createPostgresBroker({
      db: await host.database('cads_broker'),
      pollIntervalMs: 50,
    });
    db = await host.database('bff');
    bff = await createService(
      bffService({
        orderUrl: upstreams.url,
        notificationsUrl: upstreams.url,
        sessionSecret: secret,
        credentials: testCredentials('bff'),
        operatorToken: 'test-admin-token',
        saga: kitchenSaga,
      }).definition,
      { db, broker, logger: pino({ level: 'silent' }) },
    );
    await bff.start();
    bffUrl = await bff.app.listen({ host: '127.0.0.1', port: 0 });
  }, 60_000);

  afterAll(async () => {
    await bff?.stop();
    await broker?.close();
    await host?.close();
    await upstreams?.close();
  });

  const decisionOf = (orderId: string) =>
    waitFor(`the decision on ${orderId}`, async () => {
      const { rows } = await db.query<{ type: string; notified: boolean }>(
        'select type, notified from bff_final_events where order_id = $1',
        [orderId],
      );
      return rows[0];
    });
  const refused = (orderId: string, userId: string) =>
    createMessage({
      type: 'kitchen_refused',
      source: '/cads/kitchen',
      subject: orderId,
      data: { orderId, userId, kitchenRefusalReason: 'oven broken' },
    });

  it('GET /api/saga: the map as JSON, public and cacheable', async () => {
    const response = await bff.app.inject({ url: '/api/saga' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual(kitchenSaga.describe());
    expect(response.headers['set-cookie']).toBeUndefined();
    expect(response.headers['cache-control']).toMatch(/public/);
    const etag = response.headers.etag;
    expect(etag).toMatch(/^".+"$/);
    const again = await bff.app.inject({
      url: '/api/saga',
      headers: { 'if-none-match': String(etag) },
    });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');
    const steps = response.json<{ steps: { name: string; label: string }[] }>().steps;
    expect(steps.map(({ name, label }) => `${name}:${label}`)).toEqual([
      'restaurant:Restaurant',
      'kitchen:Kitchen',
      'rider:Rider',
      'payment:Payment',
    ]);
  });

  it('the extra step’s refusal, for a user who left: one notification from its label and reason', async () => {
    const orderId = 'order-kitchen-offline';
    const message = refused(orderId, 'user-offline');
    await broker.publish([message]);
    expect(await decisionOf(orderId)).toEqual({ type: 'kitchen_refused', notified: true });
    expect(upstreams.notifications.filter((sent) => sent.orderId === orderId)).toEqual([
      {
        eventId: message.id,
        orderId,
        userId: 'user-offline',
        kind: 'kitchen_rejected',
        message: 'Your order was cancelled: Kitchen: oven broken.',
        reason: 'oven broken',
      },
    ]);
  });

  it('the extra step’s refusal, seen live: streamed, and nobody is notified', async () => {
    const session = await fetch(`${bffUrl}/api/session`);
    const cookie = session.headers.getSetCookie()[0]!.split(';')[0]!;
    const { userId } = (await session.json()) as { userId: string };
    const orderId = 'order-kitchen-live';
    const abort = new AbortController();
    const stream = await fetch(`${bffUrl}/api/orders/${orderId}/events`, {
      headers: { cookie },
      signal: abort.signal,
    });
    expect(stream.status).toBe(200);
    const reader = stream.body!.pipeThrough(new TextDecoderStream()).getReader();
    let received = '';
    const until = async (text: string) => {
      while (!received.includes(text)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`the stream ended before ${text}`);
        received += value;
      }
    };
    try {
      await until('event: snapshot');
      await broker.publish([refused(orderId, userId)]);
      await until('kitchen_refused');
      expect(await decisionOf(orderId)).toEqual({ type: 'kitchen_refused', notified: false });
    } finally {
      abort.abort();
    }
    expect(upstreams.notifications.some((sent) => sent.orderId === orderId)).toBe(false);
  });

  it('decides the map’s final events: its completion and every step’s refusal, the extra one too', () => {
    const { consumer } = bffService({
      orderUrl: upstreams.url,
      notificationsUrl: upstreams.url,
      sessionSecret: secret,
      credentials: testCredentials('bff'),
      operatorToken: 'test-admin-token',
      saga: kitchenSaga,
    }).definition;
    expect(Object.keys(consumer?.handlers ?? {})).toEqual([
      'payment_done',
      'restaurant_cancelled',
      'kitchen_refused',
      'rider_cancelled',
      'payment_cancelled',
      'order_timed_out',
    ]);
    const food = bffService({
      orderUrl: upstreams.url,
      notificationsUrl: upstreams.url,
      sessionSecret: secret,
      credentials: testCredentials('bff'),
      operatorToken: 'test-admin-token',
    }).definition.consumer;
    expect(Object.keys(food?.handlers ?? {})).toEqual(foodSaga.finalEvents.map(({ type }) => type));
  });
});
