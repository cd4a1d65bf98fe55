import { randomUUID } from 'node:crypto';
import { listDeadLetters } from '@cads/consumer';
import { startStepTestbed, type StepTestbed } from '@cads/externals/testing';
import { waitFor } from '@cads/messaging/testing';
import type { Recorder, RunningService } from '@cads/service/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { paymentService, readPaymentStatus } from './index.ts';

let bed: StepTestbed;
let payment: RunningService;
let events: Recorder;
let admin: StepTestbed['admin'];
let testbed: StepTestbed['testbed'];

beforeAll(async () => {
  bed = await startStepTestbed({
    system: 'payment',
    define: (externals) =>
      paymentService({ ...externals, baseDelayMs: 5, retry: { baseDelayMs: 20 } }),
    emits: ['payment_done', 'payment_cancelled'],
  });
  ({ step: payment, events, admin, testbed } = bed);
});

afterAll(async () => {
  await bed?.close();
});

/** `rider_assigned` of a new order of its own user (its own externals config scope). */
const newAssigned = () => ({
  orderId: randomUUID(),
  userId: `user-${randomUUID().slice(0, 8)}`,
  riderId: 'rider-7',
  riderName: 'Lucia Garcia',
  riderPhone: '+34 612 345 678',
  priceCents: 5230,
  status: 0 as const,
});
type Assigned = ReturnType<typeof newAssigned>;

const configure = async (order: Assigned, config: unknown) => {
  const answer = await admin('POST', `/api/config?scope=user:${order.userId}`, config);
  expect(answer.status).toBe(202);
};
const ledgerOf = async (order: Assigned) =>
  (await admin('GET', `/api/payment/ledger?orderId=${order.orderId}`)).body as Array<{
    kind: string;
    amountCents: number;
    receiptId: string;
  }>;
const publishAssigned = (order: Assigned) =>
  testbed.publish('rider_assigned', order.orderId, order);
const typesOf = (order: Assigned) => events.of(order.orderId).map((message) => message.type);

describe('payment service', () => {
  it('charges the restaurant price once and emits payment_done with the receipt', async () => {
    const order = newAssigned();
    await publishAssigned(order);
    const done = await events.next(order.orderId, 'payment_done');
    const ledger = await ledgerOf(order);
    expect(ledger).toMatchObject([{ kind: 'charge', amountCents: 5230 }]);
    expect(done.data).toEqual({
      orderId: order.orderId,
      userId: order.userId,
      receiptId: ledger[0]?.receiptId,
      amountCents: 5230,
      status: 0,
    });
    expect(await readPaymentStatus(payment.db, order.orderId)).toBe(0);
  });

  it("turns a 402 into payment_cancelled with the bank's own reason", async () => {
    const order = newAssigned();
    await configure(order, { payment: { post: { response: 402, reason: 'card expired' } } });
    await publishAssigned(order);
    const cancelled = await events.next(order.orderId, 'payment_cancelled');
    expect(cancelled.data).toEqual({
      orderId: order.orderId,
      userId: order.userId,
      paymentCancellationReason: 'card expired',
      status: 4,
    });
    expect(await readPaymentStatus(payment.db, order.orderId)).toBe(4);
    expect(await ledgerOf(order)).toEqual([]);
  });

  it('rides out transient failures and charges once', async () => {
    const order = newAssigned();
    await configure(order, { payment: { post: { failFirst: [503, 503] } } });
    await publishAssigned(order);
    await events.next(order.orderId, 'payment_done');
    expect(await ledgerOf(order)).toHaveLength(1);
  });

  it('ignores the same rider_assigned delivered again under a new message id', async () => {
    const order = newAssigned();
    await publishAssigned(order);
    await events.next(order.orderId, 'payment_done');
    await testbed.handled(payment, await publishAssigned(order));
    expect(await ledgerOf(order)).toHaveLength(1);
    expect(typesOf(order)).toEqual(['payment_done']);
  });

  it('dead-letters an invalid rider_assigned while valid orders go on', async () => {
    const broken = { ...newAssigned(), priceCents: 'a lot' };
    const poison = await testbed.publish('rider_assigned', broken.orderId, broken);
    const order = newAssigned();
    await publishAssigned(order);
    await events.next(order.orderId, 'payment_done');
    const letter = await waitFor('the dead letter', async () =>
      (await listDeadLetters(payment.db, { consumer: 'payment' })).find(
        (candidate) => candidate.messageId === poison.id,
      ),
    );
    expect(letter.reason).toBe('invalid_payload');
    expect(await readPaymentStatus(payment.db, broken.orderId)).toBe(-1);
    expect(await ledgerOf({ ...order, orderId: broken.orderId })).toEqual([]);
  });
});
