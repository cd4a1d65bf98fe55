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
    ]);
    expect(foodSaga.step('rider').compensateOn).toEqual(['payment_cancelled']);
    expect(foodSaga.compensating('payment').map((step) => step.name)).toEqual([
      'rider',
      'restaurant',
    ]);
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
    ]);
  });

  it('draws the diagram', () => {
    expect(sagaGraph(foodSaga)).toContain('s_rider -.->|rider_cancelled| u_restaurant');
  });
});
