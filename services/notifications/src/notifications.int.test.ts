import { createPostgresBroker, type PostgresBroker } from '@cads/messaging-postgres';
import { createService, type Service } from '@cads/service';
import { sql } from '@cads/storage';
import { openPglite, type PgliteHost } from '@cads/storage-pglite';
import { testCredentials, testInternalSecret } from '@cads/testing';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Notification, SendNotificationRequest } from './contracts/index.ts';
import { notificationsService } from './index.ts';

let host: PgliteHost;
let broker: PostgresBroker;
let service: Service;
let eventCount = 0;
let clockMs = Date.parse('2025-03-01T12:00:00.000Z');
const draws = [0.1, 0.5, 0.9];

beforeAll(async () => {
  host = await openPglite();
  broker = await createPostgresBroker({ db: await host.database('cads_broker') });
  service = await createService(
    notificationsService({
      internalSecret: testInternalSecret,
      random: () => draws[eventCount++ % draws.length] ?? 0,
      // Each notification one second after the previous one, so orderings are observable.
      now: () => new Date((clockMs += 1_000)),
    }),
    { db: await host.database('notifications'), broker, logger: pino({ level: 'silent' }) },
  );
  await service.start();
});

afterAll(async () => {
  await service.stop();
  await broker.close();
  await host.close();
});

let unique = 0;
function request(overrides: Partial<SendNotificationRequest> = {}): SendNotificationRequest {
  unique += 1;
  return {
    eventId: `event-${unique}`,
    orderId: `order-${unique}`,
    userId: `user-${unique}`,
    kind: 'finished',
    message: 'Your order is on its way.',
    receiptId: `receipt-${unique}`,
    ...overrides,
  };
}

const bff = testCredentials('bff');

/** A request as the BFF acting for itself (the system), unless it brings its own header. */
async function inject(options: InjectOptions): Promise<LightMyRequestResponse> {
  const authorization = await bff.authorization('notifications');
  return service.app.inject({ ...options, headers: { authorization, ...options.headers } });
}

const post = (payload: unknown) =>
  inject({ method: 'POST', url: '/api/notifications', payload: payload as object });

async function storedCount(eventId: string): Promise<number> {
  const db = await host.database('notifications');
  const { rows } = await db.query<{ n: number }>(
    sql`select count(*)::int as n from notifications where event_id = ${eventId}`,
  );
  return rows[0]?.n ?? -1;
}

describe('POST /api/notifications', () => {
  it('stores a notification and answers 201 with it, on a random channel', async () => {
    const body = request();
    const response = await post(body);

    expect(response.statusCode).toBe(201);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    const notification = response.json<Notification>();
    expect(notification).toEqual({
      ...body,
      channel: expect.stringMatching(/^(email|sms|push)$/) as unknown,
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) as unknown,
    });
    expect(await storedCount(body.eventId)).toBe(1);
  });

  it("stores any step's refusal as its own kind, and refuses a kind that is none", async () => {
    const refused = request({ kind: 'kitchen_rejected', reason: 'the oven is broken' });
    delete (refused as { receiptId?: string }).receiptId;
    const response = await post(refused);
    expect(response.statusCode).toBe(201);
    expect(response.json<Notification>().kind).toBe('kitchen_rejected');
    expect(await storedCount(refused.eventId)).toBe(1);

    const bad = await post(request({ kind: 'Kitchen closed' as 'finished' }));
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain('kind');
  });

  it('answers 200 with the same stored notification when the event is sent again', async () => {
    const body = request();
    const first = await post(body);
    const again = await post({ ...body, message: 'Reworded by a retry.' });

    expect(first.statusCode).toBe(201);
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual(first.json());
    expect(await storedCount(body.eventId)).toBe(1);
  });

  it('stores exactly one notification for 20 concurrent identical posts', async () => {
    const body = request();
    const responses = await Promise.all(Array.from({ length: 20 }, () => post(body)));

    const statuses = responses.map((r) => r.statusCode).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 200)).toHaveLength(19);
    const bodies = new Set(responses.map((r) => r.body));
    expect(bodies.size).toBe(1);
    expect(await storedCount(body.eventId)).toBe(1);
  });

  it('answers 409 when an event id is reused for another order', async () => {
    const body = request();
    await post(body);
    const response = await post({ ...body, orderId: 'someone-else' });

    expect(response.statusCode).toBe(409);
    expect(response.json()).toMatchObject({
      code: 'CADS_CONFLICT',
      errors: [{ field: 'body/orderId', reason: 'differs' }],
    });
    expect(await storedCount(body.eventId)).toBe(1);
  });

  it.each([
    ['a missing eventId', { eventId: undefined }, 'body/eventId is required'],
    ['an unknown kind', { kind: 'delivered' }, 'body/kind'],
    ['an extra field', { html: '<b>hi</b>' }, 'body/html is not allowed'],
    ['a message over 500 characters', { message: 'x'.repeat(501) }, 'body/message'],
  ])('answers 400 with the reason for %s', async (_name, change, detail) => {
    const body: Record<string, unknown> = { ...request(), ...change };
    if (body.eventId === undefined) delete body.eventId;
    const response = await post(body);

    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    const problem = response.json<{ code: string; detail: string; errors: unknown[] }>();
    expect(problem.code).toBe('CADS_VALIDATION');
    expect(problem.detail).toContain(detail);
    expect(problem.errors.length).toBeGreaterThan(0);
  });

  it('stores and returns markup verbatim, as JSON, never as HTML', async () => {
    const message = '<script>alert("x")</script> & <img src=x onerror=alert(1)>';
    const body = request({ kind: 'payment_rejected', message, reason: '<b>bank</b> said no' });
    delete body.receiptId;
    const created = await post(body);
    const listed = await inject({ url: `/api/notifications/${body.orderId}` });

    for (const response of [created, listed]) {
      expect(response.headers['content-type']).toMatch(/^application\/json/);
      expect(response.headers['x-content-type-options']).toBe('nosniff');
    }
    expect(created.json<Notification>().message).toBe(message);
    expect(listed.json<Notification[]>()[0]).toMatchObject({ message, reason: body.reason });
  });
});

describe('GET /api/notifications/:orderId', () => {
  it("lists every event's notification of the order, oldest first", async () => {
    const first = request({ kind: 'payment_rejected', reason: 'card declined' });
    delete first.receiptId;
    const second = request({ orderId: first.orderId, userId: first.userId });
    await post(first);
    await post(second);

    const response = await inject({ url: `/api/notifications/${first.orderId}` });

    expect(response.statusCode).toBe(200);
    expect(response.json<Notification[]>().map((n) => n.eventId)).toEqual([
      first.eventId,
      second.eventId,
    ]);
  });

  it('answers 404 problem for an order without notifications', async () => {
    const response = await inject({ url: '/api/notifications/unknown-order' });

    expect(response.statusCode).toBe(404);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.json()).toMatchObject({ code: 'CADS_NOT_FOUND' });
  });
});

describe('GET /api/notifications?userId=', () => {
  it("lists the user's notifications, newest first, and no one else's", async () => {
    const userId = 'user-with-history';
    const sent = [
      request({ userId }),
      request({ userId, kind: 'rider_rejected' }),
      request({ userId }),
    ];
    for (const body of sent) await post(body);
    await post(request());

    const response = await inject({
      url: `/api/notifications?userId=${userId}`,
    });

    expect(response.statusCode).toBe(200);
    const listed = response.json<Notification[]>();
    expect(listed.map((n) => n.eventId)).toEqual(sent.map((b) => b.eventId).reverse());
    const limited = await inject({
      url: `/api/notifications?userId=${userId}&limit=2`,
    });
    expect(limited.json<Notification[]>().map((n) => n.eventId)).toEqual(
      listed.slice(0, 2).map((n) => n.eventId),
    );
  });

  it('answers 200 with an empty list for a user without notifications', async () => {
    const response = await inject({ url: '/api/notifications?userId=nobody' });

    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual([]);
  });

  it('answers 400 when userId is missing', async () => {
    const response = await inject({ url: '/api/notifications' });

    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({
      code: 'CADS_VALIDATION',
      detail: expect.stringContaining('userId is required') as unknown,
    });
  });
});

describe('service tokens', () => {
  it('refuse every route without a token (401), storing nothing', async () => {
    const body = request();
    const bare = { headers: { authorization: '' } };
    const answers = await Promise.all([
      inject({ ...bare, method: 'POST', url: '/api/notifications', payload: body }),
      inject({ ...bare, url: `/api/notifications/${body.orderId}` }),
      inject({ ...bare, url: `/api/notifications?userId=${body.userId}` }),
      inject({
        method: 'POST',
        url: '/api/notifications',
        payload: body,
        headers: { authorization: await bff.authorization('order') },
      }),
    ]);
    expect(answers.map((answer) => answer.statusCode)).toEqual([401, 401, 401, 401]);
    expect(await storedCount(body.eventId)).toBe(0);
  });

  it('limit a token acting for a user to that user’s notifications', async () => {
    const body = request();
    expect((await post(body)).statusCode).toBe(201);
    const as = async (userId: string) => ({
      authorization: await bff.authorization('notifications', userId),
    });
    const own = await inject({
      url: `/api/notifications?userId=${body.userId}`,
      headers: await as(body.userId),
    });
    expect(own.json<Notification[]>().map((item) => item.eventId)).toEqual([body.eventId]);
    const others = await inject({
      url: `/api/notifications?userId=${body.userId}`,
      headers: await as('intruder'),
    });
    expect(others.statusCode).toBe(403);
    const byOrder = await inject({
      url: `/api/notifications/${body.orderId}`,
      headers: await as('intruder'),
    });
    expect(byOrder.statusCode).toBe(404);
    const ownByOrder = await inject({
      url: `/api/notifications/${body.orderId}`,
      headers: await as(body.userId),
    });
    expect(ownByOrder.statusCode).toBe(200);
  });
});

describe('GET /openapi.json', () => {
  it('documents the notification routes', async () => {
    const response = await inject({ url: '/openapi.json' });

    expect(response.statusCode).toBe(200);
    const { paths } = response.json<{ paths: Record<string, unknown> }>();
    expect(Object.keys(paths)).toEqual(
      expect.arrayContaining(['/api/notifications', '/api/notifications/{orderId}']),
    );
  });
});
