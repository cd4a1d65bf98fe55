import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultConfig } from '../domain/config.ts';
import {
  admin,
  type ExternalsHarness,
  newOrder,
  startExternals,
  zeroDelays,
} from '../testing/externals-harness.ts';

let externals: ExternalsHarness;
beforeAll(async () => {
  externals = await startExternals();
});
afterAll(async () => {
  await externals?.close();
});

describe('config', () => {
  it("starts from the seed's defaults, delays included, and resets to them", async () => {
    const reset = await externals.request('POST', '/api/config/reset', { headers: admin });
    try {
      expect([reset.statusCode, reset.json()]).toEqual([202, defaultConfig()]);
      const current = await externals.request('GET', '/api/config', { headers: admin });
      expect(current.json()).toEqual(defaultConfig());
      const started = performance.now();
      const assigned = await externals.call('POST', 'rider', newOrder());
      expect(assigned.statusCode).toBe(201);
      expect(performance.now() - started).toBeGreaterThanOrEqual(495);
    } finally {
      await externals.configure(undefined, zeroDelays);
    }
  });

  it('scopes config per user: two users in parallel get different answers', async () => {
    const [alice, bob] = [newOrder(), newOrder()];
    await externals.configure(`user:${alice.userId}`, { payment: { post: { response: 402 } } });
    const [forAlice, forBob] = await Promise.all([
      externals.call('POST', 'payment', { ...alice, amountCents: 100 }),
      externals.call('POST', 'payment', { ...bob, amountCents: 100 }),
    ]);
    expect(forAlice.statusCode).toBe(402);
    expect(forBob.statusCode).toBe(201);
  });

  it('an order scope wins over its user scope', async () => {
    const order = newOrder();
    await externals.configure(`user:${order.userId}`, { rider: { post: { response: 404 } } });
    await externals.configure(`order:${order.orderId}`, { rider: { post: { response: 200 } } });
    expect((await externals.call('POST', 'rider', order)).statusCode).toBe(200);
    expect((await externals.call('POST', 'rider', { ...order, orderId: 'x' })).statusCode).toBe(
      404,
    );
  });

  it('deep-merges partial configs, answering 202 with the effective config', async () => {
    const scope = `user:${newOrder().userId}`;
    const first = await externals.configure(scope, { payment: { post: { response: 402 } } });
    expect(first.statusCode).toBe(202);
    const second = await externals.configure(scope, {
      payment: { post: { reason: 'card declined' } },
    });
    const expected = structuredClone(defaultConfig());
    for (const system of ['restaurant', 'rider', 'payment'] as const) {
      for (const method of ['post', 'delete'] as const) {
        Object.assign(expected[system][method], { delay: 0, randomDelay: 0 });
      }
    }
    Object.assign(expected.payment.post, { response: 402, reason: 'card declined' });
    expect(second.json()).toEqual(expected);
    const read = await externals.request('GET', `/api/config?scope=${scope}`, { headers: admin });
    expect(read.json()).toEqual(expected);
  });

  it('refuses an invalid config with 400 and a reason, and keeps the old one', async () => {
    const scope = `user:${newOrder().userId}`;
    for (const patch of [
      { bank: { post: {} } },
      { payment: { post: { response: 'soon' } } },
      { payment: { post: { delay: -5 } } },
      { payment: { post: { colour: 'red' } } },
      { payment: null },
    ]) {
      const refused = await externals.configure(scope, patch);
      expect(refused.statusCode).toBe(400);
      const problem = refused.json<{ code: string; reason: string; detail: string }>();
      expect(problem.code).toBe('CADS_VALIDATION');
      expect(problem.reason).toBe(problem.detail);
    }
    const badScope = await externals.configure('tenant:1', {});
    expect(badScope.statusCode).toBe(400);
    const read = await externals.request('GET', `/api/config?scope=${scope}`, { headers: admin });
    expect(read.json<{ payment: { post: { response: number } } }>().payment.post.response).toBe(
      201,
    );
  });

  it('resets one scope back to the global config', async () => {
    const order = newOrder();
    const scope = `user:${order.userId}`;
    await externals.configure(scope, { payment: { post: { response: 402 } } });
    const reset = await externals.request('POST', `/api/config/reset?scope=${scope}`, {
      headers: admin,
    });
    expect(reset.statusCode).toBe(202);
    expect((await externals.call('POST', 'payment', { ...order, amountCents: 1 })).statusCode).toBe(
      201,
    );
  });
});

describe('admin credential', () => {
  it('is required by config and inspection endpoints: 401 problem with a reason', async () => {
    const attempts = [
      ['GET', '/api/config', undefined],
      ['POST', '/api/config', 'Bearer wrong'],
      ['POST', '/api/config/reset', 'Basic abc'],
      ['GET', '/api/payment/ledger', undefined],
      ['GET', '/api/restaurant/reservations', undefined],
      ['GET', '/api/rider/assignments', 'Bearer '],
    ] as const;
    for (const [method, url, authorization] of attempts) {
      const response = await externals.request(method, url, {
        ...(authorization === undefined ? {} : { headers: { authorization } }),
        ...(method === 'POST' ? { body: {} } : {}),
      });
      expect(response.statusCode, `${method} ${url}`).toBe(401);
      const problem = response.json<{ code: string; reason: string }>();
      expect(problem.code).toBe('CADS_UNAUTHORIZED');
      expect(problem.reason).toContain('admin');
    }
  });
});
