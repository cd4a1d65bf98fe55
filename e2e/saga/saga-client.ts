import { waitFor } from '@cads/messaging/testing';
import { readPaymentStatus } from '@cads/payment';
import { readRestaurantStatus } from '@cads/restaurant';
import { readRiderStatus } from '@cads/rider';
import { readOrderStatus } from '@cads/order';
import type { RunningSystem } from '@cads/cli/system';
import { testCredentials } from '@cads/testing';
import { adminToken } from './system-harness.ts';

/** The suites place and read orders as the BFF does: with its service token. */
const bff = testCredentials('bff');

/** Talks to a running system over HTTP, as a client and an operator would. */
export function sagaClient(system: Pick<RunningSystem, 'urls' | 'databases'>) {
  const admin = { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' };
  const json = async <T>(response: Response): Promise<T> => {
    const text = await response.text();
    if (!response.ok) throw new Error(`${response.status} ${response.url}: ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  };
  return {
    async configure(config: unknown, scope?: string) {
      const query = scope ? `?scope=${encodeURIComponent(scope)}` : '';
      return json(
        await fetch(`${system.urls.externals}/api/config${query}`, {
          method: 'POST',
          headers: admin,
          body: JSON.stringify(config),
        }),
      );
    },
    async placeOrder(userId: string, body: unknown = seedOrder) {
      return fetch(`${system.urls.order}/api/orders`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: await bff.authorization('order', userId),
        },
        body: JSON.stringify(body),
      });
    },
    async order(orderId: string) {
      return json<{ status: number; timeline: Array<{ type: string }>; [key: string]: unknown }>(
        await fetch(`${system.urls.order}/api/orders/${orderId}`, {
          headers: { authorization: await bff.authorization('order') },
        }),
      );
    },
    async ledger(orderId: string) {
      return json<Array<{ kind: string; amountCents: number }>>(
        await fetch(`${system.urls.externals}/api/payment/ledger?orderId=${orderId}`, {
          headers: admin,
        }),
      );
    },
    async reservations(orderId: string) {
      return json<Array<{ status: string }>>(
        await fetch(`${system.urls.externals}/api/restaurant/reservations?orderId=${orderId}`, {
          headers: admin,
        }),
      );
    },
    async assignments(orderId: string) {
      return json<Array<{ status: string }>>(
        await fetch(`${system.urls.externals}/api/rider/assignments?orderId=${orderId}`, {
          headers: admin,
        }),
      );
    },
    /** restaurant / rider / payment / order status in each service's own database (-1: no record). */
    async states(orderId: string): Promise<[number, number, number, number]> {
      return Promise.all([
        readRestaurantStatus(system.databases.restaurant, orderId),
        readRiderStatus(system.databases.rider, orderId),
        readPaymentStatus(system.databases.payment, orderId),
        readOrderStatus(system.databases.order, orderId),
      ]);
    },
    /** Waits until the four states equal `expected`. */
    async settles(orderId: string, expected: readonly number[], timeoutMs = 30_000) {
      let last: number[] = [];
      await waitFor(
        `order ${orderId} to reach ${expected.join('/')} (last seen ${last.join('/')})`,
        async () => {
          last = await this.states(orderId);
          return last.every((state, i) => state === expected[i]);
        },
        { timeoutMs, intervalMs: 50 },
      ).catch(async (error: unknown) => {
        // Say why it ended elsewhere: the rejecting step's reason, as the order recorded it.
        const rejection = await this.order(orderId).then(
          (order) => JSON.stringify(order.rejection ?? null),
          (reason: unknown) => `unknown (${String(reason)})`,
        );
        throw new Error(
          `order ${orderId}: expected ${expected.join('/')}, last seen ${last.join('/')}; rejection ${rejection}`,
          { cause: error },
        );
      });
    },
  };
}

/** The seed's e2e order: Pizzeria, 3 × p01 + 2 × p02 = 52.30 EUR. */
export const seedOrder = {
  restaurantId: '48hbfe4',
  cart: [
    { itemId: 'p01', amount: 3 },
    { itemId: 'p02', amount: 2 },
  ],
};
export const seedOrderCents = 5_230;

/** Externals without delays, so sagas finish in milliseconds. */
export const noDelays = Object.fromEntries(
  ['restaurant', 'rider', 'payment'].map((system) => [
    system,
    { post: { delay: 0, randomDelay: 0 }, delete: { delay: 0, randomDelay: 0 } },
  ]),
);

/** The seed's four outcomes: restaurant / rider / payment / order final states. */
export const seedOutcomes = [
  {
    name: 'all accept',
    config: {},
    states: [0, 0, 0, 2],
    timeline: ['restaurant_reserved', 'rider_assigned', 'payment_done'],
  },
  {
    name: 'restaurant answers 503',
    config: { restaurant: { post: { response: 503 } } },
    states: [4, -1, -1, 5],
    timeline: ['restaurant_cancelled'],
    reason: 'restaurant busy',
  },
  {
    name: 'rider answers 404',
    config: { rider: { post: { response: 404 } } },
    states: [5, 4, -1, 5],
    timeline: ['restaurant_reserved', 'rider_cancelled', 'restaurant_compensated'],
    reason: 'no rider available',
  },
  {
    name: 'payment answers 402',
    config: { payment: { post: { response: 402 } } },
    states: [5, 5, 4, 5],
    timeline: [
      'restaurant_reserved',
      'rider_assigned',
      'payment_cancelled',
      'restaurant_compensated',
      'rider_compensated',
    ],
    reason: 'payment platform busy',
  },
] as const;
