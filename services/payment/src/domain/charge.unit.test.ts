import { Value } from 'typebox/value';
import { describe, expect, it } from 'vitest';
import { paymentEvents } from '../contracts/events.ts';
import { cancelled, chargeKey, chargeRequest, done } from './charge.ts';

const assignedOrder = {
  orderId: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b',
  userId: 'user-1',
  riderId: 'rider-7',
  riderName: 'Lucia Garcia',
  riderPhone: '+34 612 345 678',
  priceCents: 5230,
  status: 0,
};

describe('payment decisions', () => {
  it('given an assigned order, then the bank is asked for exactly the restaurant price', () => {
    expect(chargeRequest(assignedOrder)).toEqual({
      orderId: assignedOrder.orderId,
      userId: 'user-1',
      amountCents: 5230,
    });
  });

  it('given a receipt, then payment_done carries it', () => {
    const data = done(assignedOrder, { receiptId: 'rcpt-1', amountCents: 5230 });
    expect(data).toEqual({
      orderId: assignedOrder.orderId,
      userId: 'user-1',
      receiptId: 'rcpt-1',
      amountCents: 5230,
      status: 0,
    });
    expect(Value.Check(paymentEvents.payment_done, data)).toBe(true);
  });

  it("given a refusal, then payment_cancelled carries the bank's own reason", () => {
    const data = cancelled(assignedOrder, 'insufficient funds');
    expect(data.paymentCancellationReason).toBe('insufficient funds');
    expect(Value.Check(paymentEvents.payment_cancelled, data)).toBe(true);
  });

  it('derives one idempotency key per order', () => {
    expect(chargeKey('o1')).toBe('o1:payment:charge');
  });
});
