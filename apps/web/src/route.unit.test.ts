import { describe, expect, it } from 'vitest';
import { orderHref, parseRoute } from './route.ts';

describe('parseRoute', () => {
  it('maps each hash to its screen', () => {
    expect(parseRoute('')).toEqual({ screen: 'menu' });
    expect(parseRoute('#/')).toEqual({ screen: 'menu' });
    expect(parseRoute('#/history')).toEqual({ screen: 'history' });
    expect(parseRoute('#/notifications')).toEqual({ screen: 'notifications' });
    expect(parseRoute('#/sign-in')).toEqual({ screen: 'sign-in' });
    expect(parseRoute('#/sign-up')).toEqual({ screen: 'sign-up' });
    expect(parseRoute('#/orders/0199abc-1')).toEqual({ screen: 'order', orderId: '0199abc-1' });
    expect(parseRoute('#/nowhere')).toEqual({ screen: 'unknown' });
    expect(parseRoute('#/orders/')).toEqual({ screen: 'unknown' });
  });

  it('round-trips any order id through its link', () => {
    for (const orderId of ['plain', 'with space', 'a/b', '%41', 'ü']) {
      expect(parseRoute(orderHref(orderId))).toEqual({ screen: 'order', orderId });
    }
  });

  it('treats a malformed escape as an unknown page', () => {
    expect(parseRoute('#/orders/%E0%A4%A')).toEqual({ screen: 'unknown' });
  });
});
