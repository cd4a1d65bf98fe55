import { checkSaga, sagaGraph } from '@cads/saga';
import { describe, expect, it } from 'vitest';
import { foodSaga, foodSagaDeclaration } from './index.ts';

describe('the food saga map', () => {
  it('is sound', () => {
    expect(checkSaga(foodSagaDeclaration)).toEqual([]);
  });

  it('runs restaurant → rider → payment, each on the success before it', () => {
    expect(foodSaga.steps.map((step) => [step.name, step.trigger])).toEqual([
      ['restaurant', 'order_created'],
      ['rider', 'restaurant_reserved'],
      ['payment', 'rider_assigned'],
    ]);
    expect(foodSaga.completion).toBe('payment_done');
  });

  it('makes the earlier steps release what they hold when a later one fails', () => {
    expect(foodSaga.step('restaurant').compensateOn).toEqual([
      'rider_cancelled',
      'payment_cancelled',
      'order_timed_out',
    ]);
    expect(foodSaga.step('rider').compensateOn).toEqual(['payment_cancelled', 'order_timed_out']);
    expect(foodSaga.compensating('payment').map((step) => step.name)).toEqual([
      'rider',
      'restaurant',
    ]);
  });

  it('fails an order with no final event after 10 minutes: every step undoes what it did', () => {
    expect(foodSaga.deadline?.afterMs).toBe(600_000);
    expect(foodSaga.step('payment').compensateOn).toEqual(['order_timed_out']);
    expect(foodSaga.event('order_timed_out')).toMatchObject({
      role: 'expiry',
      producer: 'order',
      consumers: ['restaurant', 'rider', 'payment'],
    });
    expect(foodSaga.finalEvents.at(-1)).toEqual({
      type: 'order_timed_out',
      outcome: 'timed_out',
      step: 'payment',
      reasonField: 'reason',
    });
  });

  it('tells the order service what to track: every step event', () => {
    expect(foodSaga.consumedBy('order')).toEqual([
      'restaurant_reserved',
      'restaurant_cancelled',
      'restaurant_compensated',
      'rider_assigned',
      'rider_cancelled',
      'rider_compensated',
      'payment_done',
      'payment_cancelled',
      'payment_refunded',
    ]);
  });

  it('draws the diagram', () => {
    expect(sagaGraph(foodSaga)).toContain('s_rider -.->|rider_cancelled| u_restaurant');
  });
});
