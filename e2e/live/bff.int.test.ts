import { testCredentials } from '@cads/testing';
import { randomUUID } from 'node:crypto';
import { type BffOptions, bffService } from '@cads/bff';
import { foodSaga } from '@cads/food-saga';
import { listDeadLetters } from '@cads/consumer';
import { createMessage } from '@cads/messaging';
import { waitFor } from '@cads/messaging/testing';
import { createService, type Service } from '@cads/service';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { noDelays, sagaClient, seedOrder, seedOutcomes } from '../saga/saga-client.ts';
import {
  adminToken,
  sessionSecret,
  type SystemUnderTest,
  systemVariants,
} from '../saga/system-harness.ts';
import { bffBrowser, eventsSeen, rawGetStatus, types, wsHandshakeStatus } from './bff-client.ts';
import type { Session } from '@cads/bff/contracts';
import { gatedOrderService, placedOrderView } from './gated-order-service.ts';

const variants = await systemVariants();
// The distributed variant when its servers run (faster to start), else the embedded one.
const preferred = variants.findLast((candidate) => !candidate.skip) ?? variants[0]!;

/** Each step answers after `ms`, so a test can connect before the saga moves on. */
const slowSteps = (ms: number) =>
  Object.fromEntries(
    ['restaurant', 'rider', 'payment'].map((system) => [
      system,
      { post: { delay: ms, randomDelay: 0 }, delete: { delay: 0, randomDelay: 0 } },
    ]),
  );

describe(`the BFF (${preferred.name})`, { timeout: 90_000 }, () => {
  let sut: SystemUnderTest;
  let second: Service;
  let secondUrl: string;
  let client: ReturnType<typeof sagaClient>;

  beforeAll(async () => {
    sut = await preferred.start();
    client = sagaClient(sut.system);
    await client.configure(noDelays);
    // A second instance on the same database and broker, as in a deployment of two.
    ({ service: second, url: secondUrl } = await anotherBff({ heartbeatMs: 200 }));
  }, 120_000);

  /** One more BFF instance on the system's database and broker, listening on a free port. */
  async function anotherBff(
    options: Partial<BffOptions>,
  ): Promise<{ service: Service; url: string }> {
    const service = await createService(
      bffService({
        orderUrl: sut.system.urls.order,
        notificationsUrl: sut.system.urls.notifications,
        sessionSecret,
        credentials: testCredentials('bff'),
        operatorToken: adminToken,
        ...options,
      }).definition,
      {
        db: sut.system.databases.bff,
        broker: sut.system.broker,
        logger: pino({ level: 'silent' }),
      },
    );
    await service.start();
    try {
      return { service, url: await service.app.listen({ host: '127.0.0.1', port: 0 }) };
    } catch (error) {
      await service.stop();
      throw error;
    }
  }

  afterAll(async () => {
    await second?.stop();
    await sut?.dispose();
  });

  const notificationsOf = async (browser: Awaited<ReturnType<typeof bffBrowser>>) =>
    browser.json<Array<{ eventId: string; orderId: string; kind: string; reason?: string }>>(
      '/api/notifications',
    );

  it('gives each browser a signed HttpOnly guest session that it cannot forge', async () => {
    const response = await fetch(`${sut.system.urls.bff}/api/session`);
    const cookie = response.headers.getSetCookie()[0] ?? '';
    expect(cookie).toMatch(/^cads_session=/);
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    const guest = (await response.json()) as { userId: string; guest: boolean };
    expect(guest.guest).toBe(true);

    const browser = await bffBrowser(sut.system.urls.bff);
    expect(browser.session.userId).not.toBe(guest.userId);
    // Same session on the other instance: every instance reads the one session table.
    const again = await fetch(`${secondUrl}/api/session`, { headers: { cookie: browser.cookie } });
    expect(((await again.json()) as { userId: string }).userId).toBe(browser.session.userId);

    // Someone else's user id in a cookie with a made-up signature: a new guest, not them.
    const forged = Buffer.from(
      JSON.stringify({ u: guest.userId, n: 'Mallory', g: false }),
    ).toString('base64url');
    const takeover = await fetch(`${sut.system.urls.bff}/api/session`, {
      headers: { cookie: `cads_session=${forged}.AAAA` },
    });
    const taken = (await takeover.json()) as { userId: string };
    expect(taken.userId).not.toBe(guest.userId);

    const named = await browser.json<{ userId: string; name: string; guest: boolean }>(
      '/api/session',
      { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"name":" Ana "}' },
    );
    expect(named).toEqual({ userId: browser.session.userId, name: 'Ana', guest: false });
    const blank = await browser.request('/api/session', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: '{"name":"   "}',
    });
    expect(blank.status).toBe(400);
    const out = await browser.json<{ userId: string }>('/api/session', { method: 'DELETE' });
    expect(out.userId).not.toBe(browser.session.userId);
  });

  const signUp = (browser: Awaited<ReturnType<typeof bffBrowser>>, email: string) =>
    browser.json<Session>(
      '/api/account',
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email, password: 'a long enough password', name: 'Ana' }),
      },
      201,
    );
  const signIn = (browser: Awaited<ReturnType<typeof bffBrowser>>, email: string) =>
    browser.json<Session>('/api/session', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: 'a long enough password' }),
    });
  const orderIds = async (browser: Awaited<ReturnType<typeof bffBrowser>>) =>
    (await browser.json<{ orders: Array<{ orderId: string }> }>('/api/orders')).orders.map(
      (order) => order.orderId,
    );

  it('a guest who signs up keeps their orders; a copied cookie stops working at sign-out; signing in again shows them', async () => {
    const email = `ana-${randomUUID()}@example.org`;
    const browser = await bffBrowser(sut.system.urls.bff);
    const orderId = await browser.placeOrder(seedOrder);
    const guestCookie = browser.cookie;

    const account = await signUp(browser, email);
    expect(account).toEqual({ userId: browser.session.userId, name: 'Ana', guest: false, email });
    expect(browser.cookie).not.toBe(guestCookie);
    expect(await orderIds(browser)).toEqual([orderId]);
    expect((await browser.json<{ orderId: string }>(`/api/orders/${orderId}`)).orderId).toBe(
      orderId,
    );

    // Someone copied the signed-in cookie: it works until the owner signs out, on any instance.
    const copy = await bffBrowser(secondUrl);
    copy.cookie = browser.cookie;
    expect(await orderIds(copy)).toEqual([orderId]);
    const out = await browser.json<Session>('/api/session', { method: 'DELETE' });
    expect(out.guest).toBe(true);
    expect(out.userId).not.toBe(account.userId);
    for (const url of [secondUrl, sut.system.urls.bff]) {
      const stolen = await bffBrowser(url);
      stolen.cookie = copy.cookie;
      expect((await stolen.request(`/api/orders/${orderId}`)).status).toBe(404);
      expect(await orderIds(stolen)).toEqual([]);
      expect((await stolen.json<Session>('/api/session')).userId).not.toBe(account.userId);
    }
    const revokedSocket = await bffBrowser(sut.system.urls.bff);
    revokedSocket.cookie = copy.cookie;
    expect((await (await revokedSocket.ws(orderId)).closed).code).toBe(4401);
    expect((await browser.request(`/api/orders/${orderId}`)).status).toBe(404);

    // Another browser signs in: the account's user id, and with it the order.
    const laptop = await bffBrowser(secondUrl);
    const signedIn = await signIn(laptop, email.toUpperCase());
    expect(signedIn.userId).toBe(account.userId);
    expect(await orderIds(laptop)).toEqual([orderId]);
    const stream = await laptop.sse(orderId);
    expect(stream.status).toBe(200);
    stream.close();
  });

  it('signing in leaves the guest’s own orders with the guest; signing out everywhere ends every browser’s session', async () => {
    const email = `bo-${randomUUID()}@example.org`;
    const phone = await bffBrowser(sut.system.urls.bff);
    const account = await signUp(phone, email);
    const accountOrder = await phone.placeOrder(seedOrder);

    const laptop = await bffBrowser(secondUrl);
    const guestOrder = await laptop.placeOrder(seedOrder);
    await signIn(laptop, email);
    expect(await orderIds(laptop)).toEqual([accountOrder]);
    expect((await laptop.request(`/api/orders/${guestOrder}`)).status).toBe(404);

    const everywhere = await phone.json<Session>('/api/account/sessions', { method: 'DELETE' });
    expect(everywhere.guest).toBe(true);
    expect(everywhere.userId).not.toBe(account.userId);
    expect(await orderIds(laptop)).toEqual([]);
    expect((await laptop.request(`/api/orders/${accountOrder}`)).status).toBe(404);
    expect((await laptop.json<Session>('/api/session')).guest).toBe(true);
    const refused = await laptop.request('/api/account/sessions', { method: 'DELETE' });
    expect(refused.status).toBe(401);
  });

  it('answers invalid orders 400 with the reason, and serves menu and config', async () => {
    const browser = await bffBrowser(sut.system.urls.bff);
    const post = (body: string) =>
      browser.request('/api/orders', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
    for (const [body, reason] of [
      ['{"restaurantId":"48hbfe4","cart":[]}', /cart/],
      ['{"restaurantId":"48hbfe4","cart":[{"itemId":"p01","amount":51}]}', /amount/],
      ['{"restaurantId":"48hbfe4","cart":[{"itemId":"p01","amount":1}],"userId":"x"}', /userId/],
      ['{"restaurantId":"48hbfe4","cart":[{"itemId":"zz","amount":1}]}', /unknown dish zz/],
      ['{"restaurantId":"nope","cart":[{"itemId":"p01","amount":1}]}', /restaurant/],
      ['{not json', /JSON|parse/i],
    ] as const) {
      const response = await post(body);
      expect(response.status, body).toBe(400);
      const problem = (await response.json()) as { detail: string };
      expect(problem.detail, body).toMatch(reason);
    }
    const menu = await browser.json<Array<{ id: string; dishes: unknown[] }>>('/api/menu');
    expect(menu.map((restaurant) => restaurant.id)).toEqual([
      '385hf83',
      '48hbfe4',
      'j48nfiu',
      'kf894jd',
    ]);
    expect(await browser.json('/api/config')).toEqual({
      transport: 'sse',
      slowNoticeMs: 5000,
      heartbeatMs: 15000,
    });
    expect((await browser.request('/api/nothing-here')).status).toBe(404);
    // The saga's map, for the page's stepper: the same for everyone, no session needed.
    const saga = await fetch(`${sut.system.urls.bff}/api/saga`);
    expect(saga.status).toBe(200);
    expect(saga.headers.getSetCookie()).toEqual([]);
    expect(await saga.json()).toEqual(foodSaga.describe());
  });

  it('refuses writes and live sockets a foreign page would send with the cookie, and NUL characters', async () => {
    const browser = await bffBrowser(sut.system.urls.bff);
    // The browser's own protections, on every answer.
    const headers = (await browser.request('/api/session')).headers;
    expect(headers.get('content-security-policy')).toMatch(/frame-ancestors 'none'/);
    expect(headers.get('content-security-policy')).toMatch(/script-src 'self'(;|$)/);
    expect(headers.get('x-content-type-options')).toBe('nosniff');
    expect(headers.get('x-frame-options')).toBe('DENY');
    expect(headers.get('referrer-policy')).toBe('no-referrer');
    expect(headers.get('strict-transport-security')).toBeNull();
    const place = (headers: Record<string, string>) =>
      browser.request('/api/orders', {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(seedOrder),
      });
    const foreign: Array<Record<string, string>> = [
      { origin: 'http://evil.example' },
      { origin: 'null' },
      { 'sec-fetch-site': 'cross-site' },
    ];
    for (const headers of foreign) {
      const refused = await place(headers);
      expect(refused.status, JSON.stringify(headers)).toBe(403);
      expect(((await refused.json()) as { detail: string }).detail).toMatch(/another site/);
    }
    expect((await browser.json<{ orders: unknown[] }>('/api/orders')).orders).toEqual([]);
    const accepted = await place({
      origin: new URL(sut.system.urls.bff).origin,
      'sec-fetch-site': 'same-origin',
    });
    expect(accepted.status).toBe(202);
    const { orderId } = (await accepted.json()) as { orderId: string };
    expect(
      await wsHandshakeStatus(sut.system.urls.bff, orderId, browser.cookie, 'http://evil.example'),
    ).toBe(403);
    expect(
      await wsHandshakeStatus(
        sut.system.urls.bff,
        orderId,
        browser.cookie,
        new URL(sut.system.urls.bff).origin,
      ),
    ).toBe(101);

    // PostgreSQL text cannot hold NUL: refused at the door, never an internal error.
    for (const path of [
      '/api/orders/%00',
      '/api/notifications?x=%00',
      '/%00',
      '/%2e%2e/%2e%2e/etc/passwd',
    ]) {
      const response = await browser.request(path);
      expect([400, 404], path).toContain(response.status);
    }
    for (const path of [
      '/../../etc/passwd',
      '/..%2f..%2fetc/passwd',
      '/assets/../../../etc/passwd',
    ]) {
      expect([400, 404], path).toContain(await rawGetStatus(sut.system.urls.bff, path));
    }
    const nul = await browser.request('/api/session', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'a\u0000b' }),
    });
    expect(nul.status).toBe(400);
    expect(((await nul.json()) as { errors: Array<{ field: string }> }).errors).toEqual([
      expect.objectContaining({ field: 'body/name' }),
    ]);
  });

  it('limits orders and session changes per user and per address, and open live connections', async () => {
    // An instance of its own with small limits, on the same system.
    const { service: limited, url } = await anotherBff({
      limits: {
        ordersPerUserPerMinute: 3,
        ordersPerIpPerMinute: 5,
        sessionChangesPerIpPerMinute: 2,
        liveConnectionsPerUser: 2,
        liveConnectionsPerIp: 3,
      },
    });
    try {
      const [first, second, third] = [
        await bffBrowser(url),
        await bffBrowser(url),
        await bffBrowser(url),
      ];
      const orders: string[] = [];
      for (let i = 0; i < 3; i += 1) orders.push(await first.placeOrder(seedOrder));
      const tooMany = async (browser: typeof first, reason: RegExp) => {
        const response = await browser.request('/api/orders', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(seedOrder),
        });
        expect(response.status).toBe(429);
        expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
        expect(((await response.json()) as { detail: string }).detail).toMatch(reason);
      };
      await tooMany(first, /Too many orders: at most 3 a minute/);
      // Another session from the same address: its own three, but the address has had four
      // of its five (the refused one counts).
      await second.placeOrder(seedOrder);
      await tooMany(second, /from this address/);
      // A refused order was never placed.
      const placed = await first.json<{ orders: unknown[] }>('/api/orders');
      expect(placed.orders).toHaveLength(3);

      const name = (browser: typeof first) =>
        browser.request('/api/session', {
          method: 'PUT',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ name: 'Ana' }),
        });
      expect((await name(third)).status).toBe(200);
      expect((await name(third)).status).toBe(200);
      expect((await name(third)).status).toBe(429);

      // Two live connections per user, three per address, SSE and WebSocket together.
      const [a, b] = [await first.sse(orders[0]!), await first.sse(orders[1]!)];
      expect([a.status, b.status]).toEqual([200, 200]);
      const refused = await first.sse(orders[2]!);
      expect(refused.status).toBe(429);
      const origin = new URL(url).origin;
      expect(await wsHandshakeStatus(url, orders[2]!, first.cookie, origin)).toBe(429);
      const own = (await second.json<{ orders: Array<{ orderId: string }> }>('/api/orders'))
        .orders[0]!.orderId;
      const c = await second.sse(own);
      expect(c.status).toBe(200);
      // The address now holds three: the second user's next one is refused.
      expect((await second.sse(own)).status).toBe(429);
      // Closing one gives its slot back.
      a.close();
      await waitFor('the closed stream to give its slot back', async () => {
        const again = await first.sse(orders[2]!);
        again.close();
        return again.status === 200;
      });
      b.close();
      c.close();
    } finally {
      await limited.stop();
    }
  });

  it('shows and streams a user only their own orders', async () => {
    const owner = await bffBrowser(sut.system.urls.bff);
    const other = await bffBrowser(sut.system.urls.bff);
    const orderId = await owner.placeOrder(seedOrder);
    expect((await owner.json<{ orderId: string }>(`/api/orders/${orderId}`)).orderId).toBe(orderId);
    expect((await other.request(`/api/orders/${orderId}`)).status).toBe(404);
    expect((await other.sse(orderId)).status).toBe(404);
    const socket = await other.ws(orderId);
    expect((await socket.closed).code).toBe(4404);
    expect(types(socket.messages)).toEqual(['error']);
    const history = await other.json<{ orders: unknown[] }>('/api/orders');
    expect(history.orders).toEqual([]);
    const own = await owner.json<{ orders: Array<{ orderId: string }> }>('/api/orders');
    expect(own.orders.map((order) => order.orderId)).toEqual([orderId]);
  });

  it('SSE: the state first, then each saga event once, and Last-Event-ID resumes', async () => {
    const browser = await bffBrowser(sut.system.urls.bff);
    await client.configure(slowSteps(300), `user:${browser.session.userId}`);
    const orderId = await browser.placeOrder(seedOrder);
    const stream = await browser.sse(orderId);
    expect(stream.status).toBe(200);
    await stream.until((messages) => types(messages).includes('restaurant_reserved'));
    const lastId = stream.messages.at(-1)?.id;
    expect(types(stream.messages)[0]).toBe('snapshot');
    stream.close();
    await stream.closed;

    // Reconnect as a browser does, with the last id it saw: only what came after it.
    const resumed = await browser.sse(orderId, lastId);
    await resumed.until((messages) => types(messages).includes('payment_done'));
    resumed.close();
    expect(types(resumed.messages)).not.toContain('snapshot');
    expect(types(resumed.messages)).not.toContain('restaurant_reserved');
    const seen = [...eventsSeen(stream.messages), ...eventsSeen(resumed.messages)];
    expect(seen.map((event) => event.type)).toEqual([
      'order_created',
      'restaurant_reserved',
      'rider_assigned',
      'payment_done',
    ]);
    expect(new Set(seen.map((event) => event.id)).size).toBe(seen.length);

    // A fresh connection after the end: the whole state in one snapshot.
    await client.settles(orderId, [0, 0, 0, 2]);
    const late = await browser.sse(orderId);
    await late.until((messages) => messages.length > 0);
    late.close();
    expect(types(late.messages)).toEqual(['snapshot']);
    const snapshot = late.messages[0]!.message;
    expect(snapshot.type === 'snapshot' && snapshot.order.status).toBe(2);
    expect(
      snapshot.type === 'snapshot' && snapshot.order.steps.map(({ name, state }) => [name, state]),
    ).toEqual([
      ['restaurant', 'succeeded'],
      ['rider', 'succeeded'],
      ['payment', 'succeeded'],
    ]);
    // The user watched to the end: nobody is told what they saw.
    expect(await notificationsOf(browser)).toEqual([]);
  });

  it('WebSocket: the state, then each saga event, with pings; the other instance too', async () => {
    const browser = await bffBrowser(sut.system.urls.bff);
    await client.configure(slowSteps(300), `user:${browser.session.userId}`);
    const orderId = await browser.placeOrder(seedOrder);
    // Served by the second instance (heartbeat 200 ms) while the first one took the order.
    const onSecond = await bffBrowser(secondUrl);
    onSecond.cookie = browser.cookie;
    const socket = await onSecond.ws(orderId);
    await socket.until((messages) => types(messages).includes('payment_done'));
    expect(types(socket.messages)[0]).toBe('snapshot');
    const ids = eventsSeen(socket.messages).map((event) => event.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(eventsSeen(socket.messages).map((event) => event.type)).toEqual([
      'order_created',
      'restaurant_reserved',
      'rider_assigned',
      'payment_done',
    ]);
    await waitFor('a heartbeat ping', () => socket.pings > 0, { timeoutMs: 5_000 });
    socket.close();
    expect(await notificationsOf(browser)).toEqual([]);
  });

  for (const outcome of seedOutcomes) {
    it(`offline: ${outcome.name} → exactly one notification of its kind`, async () => {
      const browser = await bffBrowser(sut.system.urls.bff);
      await client.configure(outcome.config, `user:${browser.session.userId}`);
      const orderId = await browser.placeOrder(seedOrder);
      await client.settles(orderId, outcome.states);
      await waitFor('the notification', async () => (await notificationsOf(browser)).length > 0);
      const [notification, ...more] = await notificationsOf(browser);
      expect(more).toEqual([]);
      const kind = outcome.name === 'all accept' ? 'finished' : outcome.name.split(' ')[0];
      expect(notification!.kind).toBe(kind === 'finished' ? kind : `${kind}_rejected`);
      expect(notification!.orderId).toBe(orderId);
      if ('reason' in outcome) expect(notification!.reason).toBe(outcome.reason);
    });
  }

  for (const transport of ['sse', 'ws'] as const) {
    it(`watching one order (${transport}) does not hide the user's other order: one notification, for it`, async () => {
      const browser = await bffBrowser(sut.system.urls.bff);
      await client.configure(slowSteps(200), `user:${browser.session.userId}`);
      const watchedId = await browser.placeOrder(seedOrder);
      const watch = await (transport === 'sse' ? browser.sse(watchedId) : browser.ws(watchedId));
      const unwatchedId = await browser.placeOrder(seedOrder);
      await watch.until((messages) => types(messages).includes('payment_done'));
      await client.settles(unwatchedId, [0, 0, 0, 2]);
      // The page of the first order stays open until both final events are decided.
      await waitFor('both final events decided', async () => {
        const { rows } = await sut.system.databases.bff.query<{ n: number }>(
          `select count(*)::int as n from bff_final_events where order_id in ($1, $2)`,
          [watchedId, unwatchedId],
        );
        return rows[0]!.n === 2;
      });
      watch.close();
      const notifications = await notificationsOf(browser);
      expect(notifications.map((notification) => notification.orderId)).toEqual([unwatchedId]);
      expect(notifications[0]!.kind).toBe('finished');
    });
  }

  it('two instances: a user live on either one is not notified; the offline decision is shared', async () => {
    // The second instance only holds connections from now on: every final event is decided
    // by the first one, which must learn from the shared registry who is live on the second.
    await second.consumer?.stop();
    const online = await bffBrowser(secondUrl);
    const offline = await bffBrowser(sut.system.urls.bff);
    for (const browser of [online, offline]) {
      await client.configure(slowSteps(200), `user:${browser.session.userId}`);
    }
    const watchedId = await online.placeOrder(seedOrder);
    const watch = await online.sse(watchedId);
    const leftId = await offline.placeOrder(seedOrder);
    await watch.until((messages) => types(messages).includes('payment_done'));
    await client.settles(leftId, [0, 0, 0, 2]);
    await waitFor('the offline user’s notification', async () =>
      (await notificationsOf(offline)).some((n) => n.orderId === leftId),
    );
    // The final events were decided by whichever instance consumed them; give any late
    // (wrong) notification time to show up before asserting there is none.
    await waitFor('both final events decided', async () => {
      const { rows } = await sut.system.databases.bff.query<{ n: number }>(
        `select count(*)::int as n from bff_final_events where order_id in ($1, $2)`,
        [watchedId, leftId],
      );
      return rows[0]!.n === 2;
    });
    watch.close();
    expect(await notificationsOf(online)).toEqual([]);
    expect(await notificationsOf(offline)).toHaveLength(1);
  });

  it('a user who saw the final event live and left at once is not notified', async () => {
    // The offline decision is held back until the user has left: it must know they saw it.
    const consumer = sut.system.services.bff.consumer!;
    await consumer.stop();
    const browser = await bffBrowser(sut.system.urls.bff);
    const orderId = await browser.placeOrder(seedOrder);
    const stream = await browser.sse(orderId);
    await stream.until((messages) => eventsSeen(messages).some((e) => e.type === 'payment_done'));
    stream.close();
    await stream.closed;
    await waitFor('the user to be offline', async () => {
      const { rows } = await sut.system.databases.bff.query(
        'select 1 from bff_presence where user_id = $1',
        [browser.session.userId],
      );
      return rows.length === 0;
    });
    await consumer.start();
    const decision = await waitFor('the decision', async () => {
      const { rows } = await sut.system.databases.bff.query<{ notified: boolean }>(
        'select notified from bff_final_events where order_id = $1',
        [orderId],
      );
      return rows[0];
    });
    expect(decision.notified).toBe(false);
    expect(await notificationsOf(browser)).toEqual([]);
  });

  it('a WebSocket dropped at any moment of its opening leaves no presence behind', async () => {
    const browser = await bffBrowser(sut.system.urls.bff);
    const orderId = await browser.placeOrder(seedOrder);
    // Dropped 0–9 ms after asking: while the upgrade is routed, while the state is read, after.
    for (let attempt = 0; attempt < 200; attempt++) {
      await browser.dropWs(orderId, attempt % 10, attempt % 2 === 0 ? 'reset' : 'close');
    }
    await waitFor('every socket closed and no presence left', async () => {
      if (sut.system.services.bff.app.websocketServer.clients.size > 0) return false;
      const { rows } = await sut.system.databases.bff.query(
        'select 1 from bff_presence where user_id = $1',
        [browser.session.userId],
      );
      return rows.length === 0;
    });
  });

  it('a final event that reached a connection still waiting for its state, which then closed, is notified', async () => {
    // The offline decision waits until the user has left: no member of the group `bff` runs
    // meanwhile (the second instance's stays stopped, as after the two-instance test).
    const decisions = sut.system.services.bff.consumer!;
    await decisions.stop();
    await second.consumer?.stop();
    const browser = await bffBrowser(sut.system.urls.bff);
    const { userId } = browser.session;
    const orderId = randomUUID();
    // A third instance whose order reads wait: its connection stays between registering for
    // live events and sending the state while the final event arrives and the user leaves.
    const orders = await gatedOrderService(placedOrderView(orderId, userId));
    const gated = bffService({
      orderUrl: orders.url,
      notificationsUrl: sut.system.urls.notifications,
      sessionSecret,
      credentials: testCredentials('bff'),
      operatorToken: adminToken,
    });
    const { consumer: _decidedElsewhere, ...liveOnly } = gated.definition;
    const instance = await createService(liveOnly, {
      db: sut.system.databases.bff,
      broker: sut.system.broker,
      logger: pino({ level: 'silent' }),
    });
    await instance.start();
    try {
      const onGated = await bffBrowser(await instance.app.listen({ host: '127.0.0.1', port: 0 }));
      onGated.cookie = browser.cookie;
      const published = vi.spyOn(gated.hub, 'publish');
      const socket = await onGated.ws(orderId);
      await waitFor('the connection registered, its state being read', () => orders.waiting > 0);
      expect(gated.hub.size).toBe(1);
      await sut.system.broker.publish([
        createMessage({
          type: 'restaurant_cancelled',
          source: '/cads/restaurant',
          subject: orderId,
          data: { orderId, userId, restaurantCancellationReason: 'restaurant busy', status: 4 },
        }),
      ]);
      await waitFor('the final event on the instance holding the connection', () =>
        published.mock.calls.some(([order]) => order === orderId),
      );
      socket.close();
      await socket.closed;
      orders.answer();
      await waitFor('the user to be offline', async () => {
        const { rows } = await sut.system.databases.bff.query(
          'select 1 from bff_presence where user_id = $1',
          [userId],
        );
        return rows.length === 0;
      });
      expect(types(socket.messages)).toEqual([]);
    } finally {
      await instance.stop();
      await orders.close();
      await decisions.start();
    }
    const decision = await waitFor('the decision', async () => {
      const { rows } = await sut.system.databases.bff.query<{ notified: boolean }>(
        'select notified from bff_final_events where order_id = $1',
        [orderId],
      );
      return rows[0];
    });
    expect(decision.notified).toBe(true);
    const notifications = await notificationsOf(browser);
    expect(notifications.map(({ orderId: id, kind }) => [id, kind])).toEqual([
      [orderId, 'restaurant_rejected'],
    ]);
  });

  it('dead-letters an invalid final event and keeps notifying others', async () => {
    const orderId = randomUUID();
    await sut.system.broker.publish([
      createMessage({
        type: 'payment_done',
        source: '/cads/payment',
        subject: orderId,
        data: { orderId, userId: 'u-x', amountCents: 'a lot' },
      }),
    ]);
    const browser = await bffBrowser(sut.system.urls.bff);
    const placed = await browser.placeOrder(seedOrder);
    await client.settles(placed, [0, 0, 0, 2]);
    await waitFor('the dead letter', async () => {
      const letters = await listDeadLetters(sut.system.databases.bff, { consumer: 'bff' });
      return letters.some((letter) => letter.subject === orderId);
    });
    await waitFor('the valid order’s notification', async () =>
      (await notificationsOf(browser)).some((n) => n.orderId === placed),
    );
  });
});
