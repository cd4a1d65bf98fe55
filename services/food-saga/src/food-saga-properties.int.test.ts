import { randomUUID } from 'node:crypto';
import { externalsService } from '@cads/externals';
import { orderService } from '@cads/order';
import { paymentService } from '@cads/payment';
import { restaurantService } from '@cads/restaurant';
import { riderService } from '@cads/rider';
import type { SagaStatus } from '@cads/saga';
import {
  checkSagaProperties,
  type ExternalEffect,
  type PropertySystem,
  type SagaFixture,
  type StepOutcomes,
} from '@cads/testing/sagas';
import { testCredentials, testInternalSecret } from '@cads/testing';
import { describe, expect, it } from 'vitest';
import { foodSaga, orderStatusCode } from './index.ts';

const adminToken = 'property-admin-token';
const admin = { authorization: `Bearer ${adminToken}` };
const systems = ['restaurant', 'rider', 'payment'] as const;
const statusOfCode = new Map<number, SagaStatus>(
  Object.entries(orderStatusCode).map(([status, code]) => [code, status as SagaStatus]),
);
const seedOrder = {
  restaurantId: '48hbfe4',
  cart: [
    { itemId: 'p01', amount: 3 },
    { itemId: 'p02', amount: 2 },
  ],
};

/**
 * The food saga's services on the kit: the externals mock, the three steps and the order
 * service (the tracker, on the kit's clock). Each order is placed by a user of its own, whose
 * scope in the externals' config answers at once, each system accepting or refusing as the
 * scenario says.
 */
async function openFoodSystem(system: PropertySystem): Promise<SagaFixture> {
  const internalSecret = testInternalSecret;
  const externals = await system.run(externalsService({ adminToken, internalSecret }), {
    listen: true,
  });
  const reach = (service: string) => {
    const credentials = testCredentials(service);
    return {
      baseUrl: externals.url!,
      authorization: () => credentials.authorization('externals'),
    };
  };
  await system.run(restaurantService(reach('restaurant')));
  await system.run(riderService(reach('rider')));
  await system.run(paymentService(reach('payment')));
  const { service: order } = await system.run(
    orderService({
      internalSecret,
      now: () => new Date(system.now()),
      deadlinePollMs: system.pollMs,
    }),
  );
  const bff = testCredentials('bff');
  const externalsApi = async (method: 'GET' | 'POST', url: string, payload?: object) => {
    const response = await externals.service.app.inject({
      method,
      url,
      headers: admin,
      ...(payload ? { payload } : {}),
    });
    expect(response.statusCode, response.body).toBeLessThan(300);
    return response;
  };
  return {
    async start(outcomes: StepOutcomes) {
      const userId = `property-${randomUUID()}`;
      const at = (response: number) => ({ response, delay: 0, randomDelay: 0, failFirst: [] });
      const config = Object.fromEntries(
        systems.map((name) => [
          name,
          { post: at(outcomes[name] === 'refuse' ? 409 : 201), delete: at(204) },
        ]),
      );
      await externalsApi('POST', `/api/config?scope=user:${userId}`, config);
      const placed = await order.app.inject({
        method: 'POST',
        url: '/api/orders',
        headers: { authorization: await bff.authorization('order', userId) },
        payload: seedOrder,
      });
      expect(placed.statusCode, placed.body).toBe(202);
      return placed.json<{ orderId: string }>().orderId;
    },
    async status(orderId) {
      const response = await order.app.inject({
        method: 'GET',
        url: `/api/orders/${orderId}`,
        headers: { authorization: await bff.authorization('order') },
      });
      return statusOfCode.get(response.json<{ status: number }>().status)!;
    },
    async effects(orderId) {
      const effects: ExternalEffect[] = [];
      const held = async (step: string, url: string) => {
        const records = (await externalsApi('GET', url)).json<{ status: string }[]>();
        for (const { status } of records) {
          effects.push({ step, action: 'do' });
          if (status === 'released') effects.push({ step, action: 'undo' });
        }
      };
      await held('restaurant', `/api/restaurant/reservations?orderId=${orderId}`);
      await held('rider', `/api/rider/assignments?orderId=${orderId}`);
      const ledger = await externalsApi('GET', `/api/payment/ledger?orderId=${orderId}`);
      for (const { kind } of ledger.json<{ kind: 'charge' | 'refund' }[]>()) {
        effects.push({ step: 'payment', action: kind === 'charge' ? 'do' : 'undo' });
      }
      return effects;
    },
  };
}

describe('the food saga’s properties, over generated scenarios', () => {
  it('every order ends as its systems answered, each reservation, rider and charge made once and undone when the order fails', async () => {
    const coverage = await checkSagaProperties({ map: foodSaga, open: openFoodSystem });
    expect(coverage.scenarios).toBeGreaterThanOrEqual(25);
    expect(Object.values(coverage.faults).every((times) => times > 0)).toBe(true);
    expect(Object.values(coverage.endings).every((times) => times > 0)).toBe(true);
  }, 300_000);
});
