import { describe, expect, it } from 'vitest';
import type { Notification } from '../contracts/api.ts';
import { repeatConflicts } from './repeat-conflicts.ts';

const stored: Notification = {
  eventId: 'e1',
  orderId: 'o1',
  userId: 'u1',
  kind: 'finished',
  message: 'Your order is on its way.',
  receiptId: 'r1',
  channel: 'sms',
  createdAt: '2025-01-01T00:00:00.000Z',
};

describe('repeatConflicts', () => {
  it('given the same event again with other text, then nothing conflicts', () => {
    const { channel: _c, createdAt: _t, ...request } = stored;
    expect(repeatConflicts(stored, { ...request, message: 'Reworded.' })).toEqual([]);
  });

  it('given the event id reused for another order and kind, then those fields conflict', () => {
    const { channel: _c, createdAt: _t, ...request } = stored;
    expect(
      repeatConflicts(stored, { ...request, orderId: 'o2', kind: 'payment_rejected' }),
    ).toEqual(['orderId', 'kind']);
  });
});
