import {
  type Broker,
  createMessage,
  type Delivery,
  type Message,
  parseMessage,
} from '@cads/messaging';
import { createPostgresBroker } from '@cads/messaging-postgres';
import { createService, type Service } from '@cads/service';
import type { Database } from '@cads/storage';
import { openPglite, type PgliteHost } from '@cads/storage-pglite';
import { testCredentials, testInternalSecret } from '@cads/testing';
import { pino } from 'pino';
import { orderService, type OrderServiceOptions } from '../app.ts';

/** The order service on in-memory PGlite with the Postgres-log broker, started. */
export interface OrderHarness {
  readonly db: Database;
  readonly broker: Broker;
  readonly service: Service;
  close(): Promise<void>;
}

/** Signs as the BFF with the harness's secret (`testInternalSecret`). */
export const bffCredentials = testCredentials('bff');

export async function startOrderHarness(
  options: Partial<OrderServiceOptions> = {},
): Promise<OrderHarness> {
  const host: PgliteHost = await openPglite();
  const db = await host.database('order');
  const broker = await createPostgresBroker({
    db: await host.database('cads_broker'),
    pollIntervalMs: 50,
  });
  const service = await createService(
    orderService({ internalSecret: testInternalSecret, ...options }),
    {
      db,
      broker,
      logger: pino({ level: 'silent' }),
    },
  );
  await service.start();
  return {
    db,
    broker,
    service,
    async close() {
      await service.stop();
      await broker.close();
      await host.close();
    },
  };
}

/** Places the seed order for `userId` through the service's route; throws unless it is 202. */
export async function placeOrder(
  harness: OrderHarness,
  userId: string,
): Promise<{ orderId: string; userId: string }> {
  const response = await harness.service.app.inject({
    method: 'POST',
    url: '/api/orders',
    headers: { authorization: await bffCredentials.authorization('order', userId) },
    payload: seedOrder,
  });
  if (response.statusCode !== 202) {
    throw new Error(`placing an order answered ${response.statusCode}: ${response.body}`);
  }
  return response.json<{ orderId: string; userId: string }>();
}

/** `GET /api/orders/:id` as an operator (a token acting for no user sees every order). */
export async function readOrder(harness: OrderHarness, orderId: string) {
  return harness.service.app.inject({
    url: `/api/orders/${orderId}`,
    headers: { authorization: await operatorCredentials.authorization('order') },
  });
}

const operatorCredentials = testCredentials('operator');

/** Collects every message of `types` published from now on (a broadcast subscriber). */
export async function observe(
  broker: Broker,
  types: readonly string[],
): Promise<{ readonly messages: Message[]; stop(): Promise<void> }> {
  const messages: Message[] = [];
  const handle = await broker.subscribe(
    { group: `observer-${types.join('-')}`, types, mode: 'broadcast' },
    async (delivery: Delivery) => {
      messages.push(parseMessage(delivery.body));
      await delivery.ack();
    },
  );
  return { messages, stop: () => handle.stop() };
}

const sources: Readonly<Record<string, string>> = {
  restaurant: '/cads/restaurant',
  rider: '/cads/rider',
  payment: '/cads/payment',
};

/** An outcome event as its producer would build it, for `orderId` of `userId`. */
export function outcome(
  type: string,
  order: { readonly orderId: string; readonly userId: string },
  data: Record<string, unknown>,
  envelope: { readonly id?: string; readonly time?: Date } = {},
): Message<{ orderId: string; userId: string } & Record<string, unknown>> {
  return createMessage({
    type,
    source: sources[type.split('_')[0] ?? ''] ?? '/cads/test',
    subject: order.orderId,
    correlationid: `${order.userId}-${order.orderId}`,
    data: { orderId: order.orderId, userId: order.userId, ...data },
    ...envelope,
  });
}

/** The payloads of the seed's outcomes (beyond orderId and userId), by event type. */
export const seedData: Readonly<Record<string, Record<string, unknown>>> = {
  restaurant_reserved: {
    restaurantId: '48hbfe4',
    cart: [
      { itemId: 'p01', amount: 3 },
      { itemId: 'p02', amount: 2 },
    ],
    priceCents: 5230,
    restaurantPhone: '+34 91 555 02 64',
    restaurantAddress: 'Calle del Pez 7, Madrid',
    status: 0,
  },
  restaurant_cancelled: { restaurantCancellationReason: 'restaurant busy', status: 4 },
  restaurant_compensated: { status: 5 },
  rider_assigned: {
    riderId: 'rider-7',
    riderName: 'Ana',
    riderPhone: '+34 600 000 007',
    priceCents: 5230,
    status: 0,
  },
  rider_cancelled: { riderCancellationReason: 'no rider available', status: 4 },
  rider_compensated: { status: 5 },
  payment_done: { receiptId: 'receipt-1', amountCents: 5230, status: 0 },
  payment_cancelled: { paymentCancellationReason: 'card declined', status: 4 },
  payment_refunded: { status: 5 },
};

export const seedOrder = {
  restaurantId: '48hbfe4',
  cart: [
    { itemId: 'p01', amount: 3 },
    { itemId: 'p02', amount: 2 },
  ],
};
