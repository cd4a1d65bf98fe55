import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { foodSaga } from '@cads/food-saga';
import type { OrderView } from '@cads/order/contracts';

/**
 * An order service that knows one order and holds every read of it until `answer()`: a BFF
 * pointed at it keeps a live connection in the moment between registering the connection and
 * sending the order's state, for as long as a test needs.
 */
export async function gatedOrderService(order: OrderView) {
  let answer: () => void = () => undefined;
  const answered = new Promise<void>((resolve) => {
    answer = resolve;
  });
  let waiting = 0;
  const server = createServer((request, response) => {
    if (request.url !== `/api/orders/${order.orderId}`) {
      response.writeHead(404, { 'content-type': 'application/json' }).end('{}');
      return;
    }
    waiting++;
    void answered.then(() => {
      waiting--;
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(order));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    /** Reads of the order being held. */
    get waiting() {
      return waiting;
    },
    /** Answers the held reads and every later one. */
    answer: () => answer(),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A freshly placed order of `userId`, as the order service shows it. */
export function placedOrderView(orderId: string, userId: string): OrderView {
  const createdAt = new Date().toISOString();
  return {
    orderId,
    userId,
    restaurantId: '48hbfe4',
    cart: [{ itemId: 'p01', amount: 1 }],
    status: 0,
    statusText: 'created',
    priceCents: 1000,
    createdAt,
    compensated: [],
    steps: foodSaga.steps.map(({ name, label }) => ({ name, label, state: 'pending' })),
    shown: [],
    timeline: [{ id: `${orderId}-created`, type: 'order_created', time: createdAt, data: {} }],
  };
}
