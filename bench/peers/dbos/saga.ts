/**
 * The food saga of the peer benchmark (see `../peer.ts`) on DBOS Transact: one Node process with
 * DBOS in it, its workflow checkpoints in a PostgreSQL system database, an HTTP server in front.
 *
 * `POST /orders` with an `OrderRequest` starts the `orderSaga` workflow under the order's id and
 * answers with its `OrderOutcome` once it has ended; `GET /ready` answers 200 (the server listens
 * only once DBOS is launched, recovery of pending workflows included).
 *
 * Environment: EXTERNALS_URL, NOTIFICATIONS_URL, DATABASE_URL (the app's database, with the
 * `orders` table), SYSTEM_DATABASE_URL (DBOS's), PORT.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { DBOS, type StepConfig } from '@dbos-inc/dbos-sdk';
import pg from 'pg';
import type { Answer } from '../../http.ts';
import {
  callWithKey,
  externalPaths,
  idempotencyKey,
  notificationOf,
  type OrderOutcome,
  type OrderRequest,
  refusalReason,
} from '../peer.ts';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

const config = {
  externalsUrl: required('EXTERNALS_URL'),
  notificationsUrl: required('NOTIFICATIONS_URL'),
  databaseUrl: required('DATABASE_URL'),
  systemDatabaseUrl: required('SYSTEM_DATABASE_URL'),
  port: Number(required('PORT')),
};

/**
 * The app's own database. DBOS's idiomatic write would be a transaction on a datasource, which
 * commits the write and its checkpoint together (exactly once); but the published datasources
 * (knex 4.5.13, postgres.js 4.24.16, drizzle 4.27.6) call helpers that dbos-sdk 5.3.0 no longer
 * exports (`checkSchemaInstallationPG`: launch fails), and the node-postgres one is not on the
 * registry. So the writes are steps over this pool: a step runs at least once, and each write is
 * idempotent, so a rerun after a crash changes nothing.
 */
const appDb = new pg.Pool({ connectionString: config.databaseUrl });
appDb.on('error', (error) => console.error('app database:', error.message));

const createOrders = `create table if not exists orders (
  order_id text primary key,
  user_id text not null,
  restaurant_id text not null,
  cart jsonb not null,
  status text not null,
  reason text,
  receipt_id text,
  created_at timestamptz default now(),
  updated_at timestamptz
)`;

type System = keyof typeof externalPaths;

/** A network error or a 5xx: thrown so that the step's retry policy tries again. */
class TransientError extends Error {}

/** 15 attempts over about a minute (0.1 s, then 1.5 times longer each time); then the workflow fails. */
const retrySchedule: StepConfig = {
  retriesAllowed: true,
  intervalSeconds: 0.1,
  backoffRate: 1.5,
  maxAttempts: 15,
};

/** Retries transient failures only; a final answer is never retried. */
const httpRetries: StepConfig = {
  ...retrySchedule,
  shouldRetry: (error) => error instanceof TransientError,
};

/** Retries any database error: the writes are idempotent. */
const dbRetries = retrySchedule;

/** One request with an idempotency key; resolves to a final answer, throws a TransientError. */
async function send(url: string, method: 'POST' | 'DELETE', key: string, payload: unknown) {
  const answer = await callWithKey(url, method, key, payload).catch((error: Error) => {
    throw new TransientError(`${method} ${url}: ${error.message}`);
  });
  if (answer.status >= 500) {
    throw new TransientError(`${method} ${url}: ${answer.status} ${answer.body}`);
  }
  return answer;
}

const succeeded = (answer: Answer) => answer.status >= 200 && answer.status < 300;

type Booking<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

/** POST to an external as a step: a refusal is a value, recorded like a success. */
function book<T>(system: System, orderId: string, payload: object): Promise<Booking<T>> {
  const url = `${config.externalsUrl}${externalPaths[system]}`;
  return DBOS.runStep(
    async (): Promise<Booking<T>> => {
      const answer = await send(url, 'POST', idempotencyKey(orderId, system, 'do'), payload);
      return succeeded(answer)
        ? { ok: true, value: JSON.parse(answer.body) as T }
        : { ok: false, reason: refusalReason(answer) };
    },
    { name: `${system}.do`, ...httpRetries },
  );
}

/** DELETE at an external as a step; an undo has no refusal, so one fails the workflow. */
function undo(system: System, orderId: string, userId: string): Promise<void> {
  const url = `${config.externalsUrl}${externalPaths[system]}`;
  return DBOS.runStep(
    async () => {
      const key = idempotencyKey(orderId, system, 'undo');
      const answer = await send(url, 'DELETE', key, { orderId, userId });
      if (!succeeded(answer))
        throw new Error(`${system} refused its undo: ${refusalReason(answer)}`);
    },
    { name: `${system}.undo`, ...httpRetries },
  );
}

function recordCreated(request: OrderRequest): Promise<void> {
  return DBOS.runStep(
    async () => {
      await appDb.query(
        `insert into orders (order_id, user_id, restaurant_id, cart, status)
         values ($1, $2, $3, $4, 'created') on conflict do nothing`,
        [request.orderId, request.userId, request.restaurantId, JSON.stringify(request.cart)],
      );
    },
    { name: 'order.created', ...dbRetries },
  );
}

/** Sets the outcome once: a rerun finds the order no longer `created` and changes nothing. */
function recordOutcome(outcome: OrderOutcome): Promise<void> {
  return DBOS.runStep(
    async () => {
      await appDb.query(
        `update orders set status = $2, reason = $3, receipt_id = $4, updated_at = now()
         where order_id = $1 and status = 'created'`,
        [outcome.orderId, outcome.status, outcome.reason ?? null, outcome.receiptId ?? null],
      );
    },
    { name: `order.${outcome.status}`, ...dbRetries },
  );
}

function notify(outcome: OrderOutcome, userId: string): Promise<void> {
  const notification = notificationOf(outcome, userId);
  return DBOS.runStep(
    async () => {
      const url = `${config.notificationsUrl}/api/notifications`;
      const answer = await send(url, 'POST', notification.eventId, notification);
      if (!succeeded(answer)) throw new Error(`notification refused: ${refusalReason(answer)}`);
    },
    { name: 'notify', ...httpRetries },
  );
}

interface Reservation {
  readonly priceCents: number;
}
interface Receipt {
  readonly receiptId: string;
}

/** Books the three systems in turn; on a refusal, undoes what was booked, latest first. */
async function bookAll(request: OrderRequest): Promise<OrderOutcome> {
  const { orderId, userId } = request;
  const refused = async (failedStep: System, reason: string, booked: readonly System[]) => {
    for (const system of booked.toReversed()) await undo(system, orderId, userId);
    return { orderId, status: 'failed', failedStep, reason } as const;
  };
  const restaurant = await book<Reservation>('restaurant', orderId, {
    orderId,
    userId,
    restaurantId: request.restaurantId,
    cart: request.cart,
  });
  if (!restaurant.ok) return refused('restaurant', restaurant.reason, []);
  const rider = await book('rider', orderId, { orderId, userId });
  if (!rider.ok) return refused('rider', rider.reason, ['restaurant']);
  const amountCents = restaurant.value.priceCents;
  const payment = await book<Receipt>('payment', orderId, { orderId, userId, amountCents });
  if (!payment.ok) return refused('payment', payment.reason, ['restaurant', 'rider']);
  return { orderId, status: 'completed', receiptId: payment.value.receiptId };
}

/** The saga: each call is a checkpointed step, so a recovered run resumes after the last one. */
const orderSaga = DBOS.registerWorkflow(
  async (request: OrderRequest): Promise<OrderOutcome> => {
    await recordCreated(request);
    const outcome = await bookAll(request);
    await recordOutcome(outcome);
    await notify(outcome, request.userId);
    return outcome;
  },
  { name: 'orderSaga' },
);

/** Starts the order's workflow, or joins it when the order id was seen before. */
async function placeOrder(request: OrderRequest): Promise<OrderOutcome> {
  const handle = await DBOS.startWorkflow(orderSaga, { workflowID: request.orderId })(request);
  return handle.getResult();
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString()));
    req.on('error', reject);
  });
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

function parseOrder(body: string): OrderRequest | undefined {
  try {
    const order = JSON.parse(body) as Partial<OrderRequest>;
    const ids = [order.orderId, order.userId, order.restaurantId];
    return ids.every((id) => typeof id === 'string' && id) && Array.isArray(order.cart)
      ? (order as OrderRequest)
      : undefined;
  } catch {
    return undefined;
  }
}

async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method === 'GET' && req.url === '/ready') return reply(res, 200, { ready: true });
  if (req.method !== 'POST' || req.url !== '/orders')
    return reply(res, 404, { error: 'not found' });
  const order = parseOrder(await readBody(req));
  if (!order) return reply(res, 400, { error: 'expected an OrderRequest' });
  try {
    reply(res, 200, await placeOrder(order));
  } catch (error) {
    reply(res, 500, { error: error instanceof Error ? error.message : String(error) });
  }
}

const server = createServer((req, res) => {
  route(req, res).catch((error: unknown) => {
    if (!res.headersSent) reply(res, 500, { error: String(error) });
  });
});
// Idle keep-alive connections stay open across the benchmark's pauses: a client reusing one the
// server has just closed would see its order fail.
server.keepAliveTimeout = 120_000;

/** Stops taking orders and lets DBOS disconnect; workflows cut short resume at the next launch. */
async function shutdown(): Promise<void> {
  server.close();
  server.closeAllConnections();
  await DBOS.shutdown();
  await appDb.end();
}

async function main(): Promise<void> {
  await appDb.query(createOrders);
  // A fixed version, not DBOS's hash of the code: launch recovers only the pending workflows of
  // its own application version (and executor id, `local` by default).
  DBOS.setConfig({
    name: 'cads-bench-peer-dbos',
    systemDatabaseUrl: config.systemDatabaseUrl,
    applicationVersion: '1',
  });
  await DBOS.launch();
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      shutdown().then(
        () => process.exit(0),
        (error: unknown) => {
          console.error('dbos app: unclean shutdown:', error);
          process.exit(1);
        },
      );
    });
  }
  server.listen(config.port, '127.0.0.1');
}

main().catch((error: unknown) => {
  console.error('dbos app failed to start:', error);
  process.exit(1);
});
