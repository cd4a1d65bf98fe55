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

async function chargesOf(orderId: string): Promise<LedgerEntry[]> {
  const response = await externals.request('GET', `/api/payment/ledger?orderId=${orderId}`, {
    headers: admin,
  });
  return response.json<LedgerEntry[]>().filter((entry) => entry.kind === 'charge');
}

describe('idempotency keys', () => {
  it('replays the first answer byte-for-byte with no second effect', async () => {
    const order = newOrder();
    const body = { ...order, amountCents: 990 };
    const first = await externals.call('POST', 'payment', body, 'replay-key');
    const second = await externals.call('POST', 'payment', body, 'replay-key');
    expect(first.statusCode).toBe(201);
    expect([second.statusCode, second.body]).toEqual([201, first.body]);
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    expect(await chargesOf(order.orderId)).toHaveLength(1);
  });

  it('concurrent calls with one key charge once and all get the same answer', async () => {
    const order = newOrder();
    const body = { ...order, amountCents: 1500 };
    const answers = await Promise.all(
      Array.from({ length: 6 }, () => externals.call('POST', 'payment', body, order.orderId)),
    );
    expect(new Set(answers.map((answer) => `${answer.statusCode} ${answer.body}`)).size).toBe(1);
    expect(await chargesOf(order.orderId)).toHaveLength(1);
  });

  it('keys are per system and method: one key may charge and then refund', async () => {
    const order = newOrder();
    expect(
      (await externals.call('POST', 'payment', { ...order, amountCents: 5 }, 'k')).statusCode,
    ).toBe(201);
    expect((await externals.call('DELETE', 'payment', order, 'k')).statusCode).toBe(204);
    expect((await externals.call('POST', 'rider', order, 'k')).statusCode).toBe(201);
  });

  it('does not store a 5xx: a retry with the key is answered afresh', async () => {
    const order = newOrder();
    const scope = `order:${order.orderId}`;
    await externals.configure(scope, { payment: { post: { response: 503 } } });
    const body = { ...order, amountCents: 700 };
    const busy = await externals.call('POST', 'payment', body, 'retry-key');
    expect([busy.statusCode, busy.json()]).toEqual([503, { reason: 'payment platform busy' }]);
    expect(await chargesOf(order.orderId)).toEqual([]);
    await externals.configure(scope, { payment: { post: { response: 201 } } });
    const retried = await externals.call('POST', 'payment', body, 'retry-key');
    expect(retried.statusCode).toBe(201);
    expect(await chargesOf(order.orderId)).toHaveLength(1);
  });

  it('failFirst [503, 503]: two 503s for a key, then 201, then the 201 replayed', async () => {
    const order = newOrder();
    await externals.configure(`user:${order.userId}`, {
      rider: { post: { failFirst: [503, 503] } },
    });
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 3; attempt += 1) {
      statuses.push((await externals.call('POST', 'rider', order, 'ff-key')).statusCode);
    }
    expect(statuses).toEqual([503, 503, 201]);
    const replayed = await externals.call('POST', 'rider', order, 'ff-key');
    expect(replayed.headers['idempotent-replayed']).toBe('true');
    // The count is per key: a new key starts over.
    expect((await externals.call('POST', 'rider', order, 'other-key')).statusCode).toBe(503);
  });

  it('is shared by every instance on the database (and so survives a restart)', async () => {
    const order = newOrder();
    const body = { ...order, amountCents: 1200 };
    const first = await externals.call('POST', 'payment', body, 'shared-key');
    const other = await externals.anotherInstance();
    const second = await other.app.inject({
      method: 'POST',
      url: '/api/payment',
      headers: { 'idempotency-key': 'shared-key', ...(await callerHeaders()) },
      payload: body,
    });
    expect([second.statusCode, second.body]).toEqual([201, first.body]);
    expect(await chargesOf(order.orderId)).toHaveLength(1);
  });
});

describe('delays', () => {
  it('waits delay + random() * randomDelay before answering', async () => {
    const order = newOrder();
    await externals.configure(`user:${order.userId}`, {
      rider: { post: { delay: 120, randomDelay: 200 } },
    });
    externals.random = 0.5;
    try {
      const started = performance.now();
      expect((await externals.call('POST', 'rider', order)).statusCode).toBe(201);
      expect(performance.now() - started).toBeGreaterThanOrEqual(215);
    } finally {
      externals.random = 0;
    }
  });
});
