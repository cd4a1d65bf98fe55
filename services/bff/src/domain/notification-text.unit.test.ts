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

describe('notificationFor', () => {
  it('tells a finished order with its amount and receipt', () => {
    expect(notificationFor('payment_done', { amountCents: 5230, receiptId: 'r-1' })).toEqual({
      kind: 'finished',
      message: 'Your order is paid (52.30 €) and on its way.',
      receiptId: 'r-1',
    });
  });

  it('names the rejecting step and carries its reason', () => {
    const restaurant = notificationFor('restaurant_cancelled', {
      restaurantCancellationReason: 'restaurant busy',
    });
    expect(restaurant).toMatchObject({ kind: 'restaurant_rejected', reason: 'restaurant busy' });
    expect(restaurant.message).toContain('restaurant busy');
    expect(
      notificationFor('rider_cancelled', { riderCancellationReason: 'no rider available' }),
    ).toMatchObject({ kind: 'rider_rejected', reason: 'no rider available' });
    const payment = notificationFor('payment_cancelled', {
      paymentCancellationReason: 'payment platform busy',
    });
    expect(payment).toMatchObject({ kind: 'payment_rejected', reason: 'payment platform busy' });
    expect(payment.message).toContain('Nothing was charged');
  });

  it('keeps the message within the provider limit whatever the reason', () => {
    const long = notificationFor('payment_cancelled', {
      paymentCancellationReason: 'x'.repeat(900),
    });
    expect(long.message.length).toBeLessThanOrEqual(500);
  });
});
