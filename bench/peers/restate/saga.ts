/**
 * The Restate peer's handler process: the food saga of `../peer.ts` as one Restate service,
 * served over HTTP/2 to the Restate server, which drives it and journals every step.
 *
 * Config (env): EXTERNALS_URL, NOTIFICATIONS_URL, DATABASE_URL, PORT.
 *
 * Guarantees, from Restate's durable execution: each `ctx.run` step runs until it succeeds or
 * fails terminally, and its result (or terminal failure) is journaled before the handler goes
 * on, so a replay after a crash skips the steps already done. A step may still run more than
 * once when its process dies before the result is journaled: every step is therefore
 * idempotent (idempotency keys of the order at the externals and the notifications, `on
 * conflict do nothing` / plain `update` in the table).
 */
import http2 from 'node:http2';
import * as restate from '@restatedev/restate-sdk';
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

type System = keyof typeof externalPaths;

/**
 * The SDK (1.17) calls `Promise.withResolvers`, which Node has from 22 on; the repository runs
 * Node 20. The same function, for Node 20 only (a no-op where it exists).
 */
const promiseStatics = Promise as unknown as { withResolvers?: unknown };
promiseStatics.withResolvers ??= <T>() => {
  let resolve!: (value: T | PromiseLike<T>) => void;
  let reject!: (reason?: unknown) => void;
  const promise = new Promise<T>((onResolve, onReject) => {
    resolve = onResolve;
    reject = onReject;
  });
  return { promise, resolve, reject };
};

const config = {
  externalsUrl: requiredEnv('EXTERNALS_URL'),
  notificationsUrl: requiredEnv('NOTIFICATIONS_URL'),
  databaseUrl: requiredEnv('DATABASE_URL'),
  port: Number(requiredEnv('PORT')),
};

function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

const pool = new pg.Pool({ connectionString: config.databaseUrl, max: 10 });

/**
 * An answer as a step's result: 2xx is the parsed body. A 5xx (not final, per the externals'
 * contract) or a network error throws a plain error, which Restate retries with backoff. Any
 * other status is final: where a refusal is an outcome it throws a `TerminalError` with the
 * service's reason, journaled and never retried; elsewhere a plain error, retried.
 */
function settle<T>(answer: Answer, what: string, refusable: boolean): T {
  if (answer.status >= 200 && answer.status < 300) {
    return (answer.body ? JSON.parse(answer.body) : undefined) as T;
  }
  if (refusable && answer.status < 500) {
    throw new restate.TerminalError(refusalReason(answer), { errorCode: answer.status });
  }
  throw new Error(`${what}: ${answer.status} ${answer.body.slice(0, 200)}`);
}

/**
 * POST (do) or DELETE (undo) at an external, keyed by order, system and action. A do may be
 * refused; an undo may not (a compensation is retried until the system takes it).
 */
async function callExternal<T>(
  system: System,
  action: 'do' | 'undo',
  orderId: string,
  body: unknown,
): Promise<T> {
  const method = action === 'do' ? 'POST' : 'DELETE';
  const url = `${config.externalsUrl}${externalPaths[system]}`;
  const answer = await callWithKey(url, method, idempotencyKey(orderId, system, action), body);
  return settle<T>(answer, `${method} ${externalPaths[system]}`, action === 'do');
}

async function createTable(): Promise<void> {
  await pool.query(`create table if not exists orders (
    order_id text primary key,
    user_id text not null,
    restaurant_id text not null,
    cart jsonb not null,
    status text not null,
    reason text,
    receipt_id text,
    created_at timestamptz default now(),
    updated_at timestamptz
  )`);
}

/** Idempotent: a retried step finds the row and inserts nothing. */
async function recordOrder(order: OrderRequest): Promise<void> {
  await pool.query(
    `insert into orders (order_id, user_id, restaurant_id, cart, status)
     values ($1, $2, $3, $4, 'created') on conflict (order_id) do nothing`,
    [order.orderId, order.userId, order.restaurantId, JSON.stringify(order.cart)],
  );
}

/** Idempotent: setting the same outcome again changes nothing but `updated_at`. */
async function recordOutcome(outcome: OrderOutcome): Promise<void> {
  await pool.query(
    `update orders set status = $2, reason = $3, receipt_id = $4, updated_at = now()
     where order_id = $1`,
    [outcome.orderId, outcome.status, outcome.reason ?? null, outcome.receiptId ?? null],
  );
}

/**
 * The notifications service keeps one notification per `eventId`: a repeat stores nothing. A
 * 4xx is a client bug: terminal, so the invocation fails and the caller sees it.
 */
async function notify(outcome: OrderOutcome, userId: string): Promise<void> {
  const notification = notificationOf(outcome, userId);
  const url = `${config.notificationsUrl}/api/notifications`;
  settle(
    await callWithKey(url, 'POST', notification.eventId, notification),
    'POST /api/notifications',
    true,
  );
}

interface Reservation {
  readonly priceCents: number;
}
interface Charge {
  readonly receiptId: string;
}

/**
 * The forward steps; each one's undo is put first in `undo` once it has succeeded. A refusal
 * rejects with the journaled `TerminalError`, and `progress.step` names the step that refused
 * (set before each step, deterministically, so the same on a replay).
 */
async function book(
  ctx: restate.Context,
  order: OrderRequest,
  undo: (() => Promise<void>)[],
  progress: { step: System },
): Promise<OrderOutcome> {
  const { orderId, userId } = order;
  const release = (system: System) => () =>
    ctx.run(`undo ${system}`, () =>
      callExternal<void>(system, 'undo', orderId, { orderId, userId }),
    );

  const reservation = await ctx.run('reserve restaurant', () =>
    callExternal<Reservation>('restaurant', 'do', orderId, {
      orderId,
      userId,
      restaurantId: order.restaurantId,
      cart: order.cart,
    }),
  );
  undo.unshift(release('restaurant'));

  progress.step = 'rider';
  await ctx.run('assign rider', () =>
    callExternal<unknown>('rider', 'do', orderId, { orderId, userId }),
  );
  undo.unshift(release('rider'));

  progress.step = 'payment';
  const charge = await ctx.run('charge payment', () =>
    callExternal<Charge>('payment', 'do', orderId, {
      orderId,
      userId,
      amountCents: reservation.priceCents,
    }),
  );
  return { orderId, status: 'completed', receiptId: charge.receiptId };
}

/**
 * The saga: record, book, compensate on a refusal, record the outcome, notify, answer it.
 * A compensation is retried until it succeeds (never terminal: an undo cannot be refused), so
 * what was booked is released before the outcome is recorded.
 */
async function placeOrder(ctx: restate.Context, order: OrderRequest): Promise<OrderOutcome> {
  if (!order?.orderId || !order.userId) {
    // Also the starter's readiness probe: refused here, before any step.
    throw new restate.TerminalError('not an order: orderId and userId are required', {
      errorCode: 400,
    });
  }
  await ctx.run('record order', () => recordOrder(order));
  const undo: (() => Promise<void>)[] = [];
  const progress: { step: System } = { step: 'restaurant' };
  let outcome: OrderOutcome;
  try {
    outcome = await book(ctx, order, undo, progress);
  } catch (error) {
    if (!(error instanceof restate.TerminalError)) throw error;
    for (const compensate of undo) await compensate();
    outcome = {
      orderId: order.orderId,
      status: 'failed',
      failedStep: progress.step,
      reason: error.message,
    };
  }
  await ctx.run('record outcome', () => recordOutcome(outcome));
  await ctx.run('notify', () => notify(outcome, order.userId));
  return outcome;
}

/**
 * A plain service, as in Restate's own saga example ("BookingWorkflow" is a `restate.service`
 * with a stack of compensations): a workflow would add a per-key run-once guarantee and
 * retained workflow state, which the starter gets from the ingress instead, by sending the
 * order id as the invocation's `idempotency-key`.
 */
const orderSaga = restate.service({
  name: 'OrderSaga',
  handlers: { placeOrder },
});

await createTable();
// Own HTTP/2 server rather than `restate.serve`, to listen on loopback only.
http2
  .createServer(restate.createEndpointHandler({ services: [orderSaga] }))
  .listen(config.port, '127.0.0.1', () => console.log(`OrderSaga listening on ${config.port}`));
