import { describe, expect, it } from 'vitest';
import { isSession, parseLiveMessage } from './parse.ts';

const entry = { id: 'e1', type: 'order_created', time: '2025-01-01T12:00:00Z', data: { a: 1 } };
const order = {
  orderId: 'o1',
  userId: 'u1',
  restaurantId: 'r1',
  cart: [{ itemId: 'p01', amount: 1 }],
  status: 0,
  statusText: 'created',
  priceCents: 950,
  createdAt: '2025-01-01T12:00:00Z',
  compensated: [],
  timeline: [entry],
};

describe('parseLiveMessage', () => {
  it('reads the three kinds of live message', () => {
    expect(parseLiveMessage(JSON.stringify({ type: 'snapshot', order }))).toEqual({
      type: 'snapshot',
      order,
    });
    expect(parseLiveMessage(JSON.stringify({ type: 'saga', event: entry }))).toEqual({
      type: 'saga',
      event: entry,
    });
    expect(
      parseLiveMessage(JSON.stringify({ type: 'error', code: 'NOT_FOUND', detail: 'gone' })),
    ).toEqual({ type: 'error', code: 'NOT_FOUND', detail: 'gone' });
  });

  it('drops anything else instead of failing', () => {
    expect(parseLiveMessage('not json')).toBeUndefined();
    expect(parseLiveMessage('null')).toBeUndefined();
    expect(parseLiveMessage(JSON.stringify({ type: 'saga', event: { id: 1 } }))).toBeUndefined();
    expect(
      parseLiveMessage(JSON.stringify({ type: 'snapshot', order: { ...order, timeline: 'x' } })),
    ).toBeUndefined();
    expect(parseLiveMessage(JSON.stringify({ type: 'ping' }))).toBeUndefined();
  });
});

describe('isSession', () => {
  it('reads a guest’s session and an account’s, whose email must be text', () => {
    const guest = { userId: 'u-1', name: 'Guest', guest: true };
    expect(isSession(guest)).toBe(true);
    expect(isSession({ ...guest, guest: false, email: 'ana@example.org' })).toBe(true);
    expect(isSession({ ...guest, email: 42 })).toBe(false);
    expect(isSession({ name: 'Guest', guest: true })).toBe(false);
  });
});
