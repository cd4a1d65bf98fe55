import { Value } from 'typebox/value';
import { describe, expect, it } from 'vitest';
import { riderEvents } from '../contracts/events.ts';
import {
  assigned,
  assignKey,
  assignmentRequest,
  cancelled,
  compensated,
  releaseKey,
} from './assignment.ts';

const reservedOrder = {
  orderId: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b',
  userId: 'user-1',
  restaurantId: '48hbfe4',
  cart: [{ itemId: 'p01', amount: 3 }],
  priceCents: 2850,
  restaurantPhone: '+34 91 555 02 64',
  restaurantAddress: 'Calle del Pez 7, Madrid',
  status: 0,
};
const assignment = { riderId: 'rider-7', riderName: 'Lucia Garcia', riderPhone: '+34 612 345 678' };

describe('rider decisions', () => {
  it('given a reserved order, then the request names only the order', () => {
    expect(assignmentRequest(reservedOrder)).toEqual({
      orderId: reservedOrder.orderId,
      userId: 'user-1',
    });
  });

  it('given an assignment, then rider_assigned carries the rider and the restaurant price', () => {
    const data = assigned(reservedOrder, assignment);
    expect(data).toEqual({
      orderId: reservedOrder.orderId,
      userId: 'user-1',
      riderId: 'rider-7',
      riderName: 'Lucia Garcia',
      riderPhone: '+34 612 345 678',
      priceCents: 2850,
      status: 0,
    });
    expect(Value.Check(riderEvents.rider_assigned, data)).toBe(true);
  });

  it('given a rejection, then rider_cancelled carries the system reason', () => {
    const data = cancelled(reservedOrder, 'no rider available');
    expect(data.riderCancellationReason).toBe('no rider available');
    expect(Value.Check(riderEvents.rider_cancelled, data)).toBe(true);
  });

  it('given a compensation, then rider_compensated is valid', () => {
    expect(Value.Check(riderEvents.rider_compensated, compensated(reservedOrder))).toBe(true);
  });

  it('derives one idempotency key per order and action', () => {
    expect(assignKey('o1')).toBe('o1:rider:assign');
    expect(releaseKey('o1')).toBe('o1:rider:release');
  });
});
