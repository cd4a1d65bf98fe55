import { serviceCredentials, type ServiceCredentials } from '@cads/http';
import { type Answer, httpRequest } from '../http.ts';

/**
 * What every system of the peer benchmark runs: the food saga, on the same CADS externals
 * service (restaurant, rider, payment) and the same CADS notifications service, doing the same
 * work per order as CADS does (see `docs/benchmarks.md`, "Against the peers"):
 *
 * 1. record the order in a table of the system's own database (`created`);
 * 2. reserve at the restaurant, assign a rider, charge the payment — each an HTTP call with an
 *    idempotency key derived from the order, never from an attempt, run as a durable step (a
 *    retry or a recovery never books twice);
 * 3. on a refusal (any final non-2xx answer), undo what succeeded before it, latest first;
 * 4. record the outcome in the table (`completed` or `failed`, with the refusal's reason);
 * 5. post one notification of the outcome to the notifications service, with the order's final
 *    outcome as idempotency key.
 *
 * Peers implement it idiomatically in their own files (`restate/`, `dbos/`); this module is
 * their shared vocabulary, imported by the peer programs and the benchmark alike.
 */

/** The order every saga places: the seed's Pizzeria order, 52.30 €. */
export const seedOrder = {
  restaurantId: '48hbfe4',
  cart: [
    { itemId: 'p01', amount: 3 },
    { itemId: 'p02', amount: 2 },
  ],
} as const;

/** What the load generator sends to start one saga. */
export interface OrderRequest {
  readonly orderId: string;
  readonly userId: string;
  readonly restaurantId: string;
  readonly cart: readonly { readonly itemId: string; readonly amount: number }[];
}

/** How a saga ended, as the peer answers when it is over. */
export interface OrderOutcome {
  readonly orderId: string;
  readonly status: 'completed' | 'failed';
  /** The step that refused, and why (failed only). */
  readonly failedStep?: 'restaurant' | 'rider' | 'payment';
  readonly reason?: string;
  /** The payment's receipt (completed only). */
  readonly receiptId?: string;
}

/** Each call's idempotency key: from the order and the action, the same on every attempt. */
export const idempotencyKey = (
  orderId: string,
  system: 'restaurant' | 'rider' | 'payment',
  action: 'do' | 'undo',
): string => `${orderId}:${system}:${action}`;

/** The externals' endpoints: POST does, DELETE undoes; bodies as in `@cads/externals/contracts`. */
export const externalPaths = {
  restaurant: '/api/restaurant',
  rider: '/api/rider',
  payment: '/api/payment',
} as const;

/** The notification of an outcome, as the CADS BFF would send it (`POST /api/notifications`). */
export function notificationOf(outcome: OrderOutcome, userId: string) {
  const eventId = `${outcome.orderId}:${outcome.status}`;
  if (outcome.status === 'completed') {
    return {
      eventId,
      orderId: outcome.orderId,
      userId,
      kind: 'finished',
      message: 'Your order is on its way.',
      ...(outcome.receiptId ? { receiptId: outcome.receiptId } : {}),
    };
  }
  return {
    eventId,
    orderId: outcome.orderId,
    userId,
    kind: `${outcome.failedStep ?? 'restaurant'}_rejected`,
    message: 'Your order was cancelled. Nothing was charged.',
    ...(outcome.reason ? { reason: outcome.reason.slice(0, 500) } : {}),
  };
}

/** What the benchmark gives a peer. */
export interface PeerOptions {
  /** The CADS externals service, e.g. `http://127.0.0.1:4301`. */
  readonly externalsUrl: string;
  /** The CADS notifications service. */
  readonly notificationsUrl: string;
  /**
   * The shared services' internal secret: a peer's handlers get it as `INTERNAL_SECRET` and
   * sign their calls with it (`callWithKey`), as CADS's own services do.
   */
  readonly internalSecret: string;
  /**
   * An admin connection to this machine's PostgreSQL: the peer creates the database(s) it needs
   * under a name of this run (`bench_peer_<peer>_<tag>`) and drops them when it stops.
   */
  readonly postgresUrl: string;
  /** A scratch directory of this run (data directories, logs), deleted afterwards. */
  readonly workDir: string;
  /** First port to try for the peer's listeners. */
  readonly basePort: number;
}

/** A peer running its saga, ready to take orders. */
export interface RunningPeer {
  /** e.g. `Restate 1.7.12 (server + one Node handler process)`. */
  readonly description: string;
  /**
   * Starts one saga and resolves when it has ended (recorded and notified), with its outcome;
   * rejects when the peer answered with an error. Called many times concurrently.
   */
  order(request: OrderRequest): Promise<OrderOutcome>;
  /** The peer's own processes (server, handlers), by label, for CPU and memory accounting. */
  processes(): readonly { readonly label: string; readonly pid: number }[];
  /** What survives a process crash and an OS crash, in a sentence each. */
  readonly durability: { readonly processCrash: string; readonly osCrash: string };
  /** Stops every process it started and removes what it created (databases, files). */
  stop(): Promise<void>;
}

let credentials: ServiceCredentials | undefined;

/** The handler process's service tokens (service `peer`), from `INTERNAL_SECRET`. */
function peerCredentials(): ServiceCredentials {
  if (credentials) return credentials;
  const secret = process.env.INTERNAL_SECRET;
  if (!secret) throw new Error('INTERNAL_SECRET is not set');
  credentials = serviceCredentials({ secret, service: 'peer' });
  return credentials;
}

/**
 * One call with an idempotency key, a JSON body and the peer's service token (for the
 * notifications service or the externals, by the URL's path), as every peer makes it:
 * resolves to the answer, whatever its status; rejects on a network error or after `timeoutMs`.
 */
export async function callWithKey(
  url: string,
  method: 'POST' | 'DELETE',
  key: string,
  body: unknown,
  timeoutMs = 30_000,
): Promise<Answer> {
  const audience = new URL(url).pathname.startsWith('/api/notifications')
    ? 'notifications'
    : 'externals';
  return httpRequest(url, {
    method,
    headers: {
      'idempotency-key': key,
      authorization: await peerCredentials().authorization(audience),
    },
    body: JSON.stringify(body),
    timeoutMs,
  });
}

/** The reason a refusal gives (`{ reason }`), else its status. */
export function refusalReason(answer: Answer): string {
  try {
    const { reason } = JSON.parse(answer.body) as { reason?: unknown };
    if (typeof reason === 'string' && reason !== '') return reason;
  } catch {
    // not JSON: the status says it
  }
  return `refused with ${answer.status}`;
}
