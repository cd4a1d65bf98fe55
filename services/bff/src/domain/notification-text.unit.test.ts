import { describe, expect, it } from 'vitest';
import { formatEuros, notificationFor } from './notification-text.ts';

describe('formatEuros', () => {
  it('formats integer cents exactly', () => {
    expect(formatEuros(5230)).toBe('52.30 €');
    expect(formatEuros(5)).toBe('0.05 €');
    expect(formatEuros(0)).toBe('0.00 €');
    expect(formatEuros(-150)).toBe('-1.50 €');
  });
});

const failed = (step: string, label: string, reason?: string) =>
  notificationFor({ outcome: 'failed', step, label, ...(reason === undefined ? {} : { reason }) });

describe('notificationFor', () => {
  it('tells a finished order with its amount and receipt', () => {
    expect(notificationFor({ outcome: 'completed', amountCents: 5230, receiptId: 'r-1' })).toEqual({
      kind: 'finished',
      message: 'Your order is paid (52.30 €) and on its way.',
      receiptId: 'r-1',
    });
    expect(notificationFor({ outcome: 'completed' })).toEqual({
      kind: 'finished',
      message: 'Your order is complete and on its way.',
    });
  });

  it('names the rejecting food step in its own words and carries its reason', () => {
    const restaurant = failed('restaurant', 'Restaurant', 'restaurant busy');
    expect(restaurant).toMatchObject({ kind: 'restaurant_rejected', reason: 'restaurant busy' });
    expect(restaurant.message).toBe(
      'Your order was cancelled: the restaurant could not go ahead: restaurant busy. Nothing was charged.',
    );
    expect(failed('rider', 'Rider', 'no rider available')).toMatchObject({
      kind: 'rider_rejected',
      reason: 'no rider available',
    });
    const payment = failed('payment', 'Payment', 'payment platform busy');
    expect(payment).toMatchObject({ kind: 'payment_rejected', reason: 'payment platform busy' });
    expect(payment.message).toContain('Nothing was charged');
  });

  it('tells any other step’s refusal from its label and reason', () => {
    expect(failed('kitchen', 'Kitchen', 'oven broken')).toEqual({
      kind: 'kitchen_rejected',
      message: 'Your order was cancelled: Kitchen: oven broken.',
      reason: 'oven broken',
    });
    expect(failed('kitchen', 'Kitchen')).toEqual({
      kind: 'kitchen_rejected',
      message: 'Your order was cancelled: Kitchen.',
    });
  });

  it('keeps the message and the reason within the provider limit whatever the reason', () => {
    for (const step of ['payment', 'kitchen']) {
      const long = failed(step, step, 'x'.repeat(900));
      expect(long.message.length).toBeLessThanOrEqual(500);
      expect(long.reason?.length).toBeLessThanOrEqual(500);
    }
  });
});
