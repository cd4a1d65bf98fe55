import type {
  ClientConfig,
  Menu,
  NotificationInbox,
  OrderAccepted,
  OrderHistory,
  OrderView,
  PlaceOrderBody,
  Session,
  SignInBody,
  SignUpBody,
} from '@cads/bff/contracts';
import type { SagaDescription } from '@cads/saga/verdict';
import {
  isClientConfig,
  isMenu,
  isNotificationInbox,
  isOrderAccepted,
  isOrderHistory,
  isOrderView,
  isRecord,
  isSagaDescription,
  isSession,
} from './parse.ts';

export type ApiErrorKind = 'network' | 'http' | 'invalid';

export const networkErrorMessage =
  'Could not reach the server — check your connection and try again.';

/**
 * Why a request failed: the server was unreachable (`network`), answered with an error
 * (`http`, with the problem's `detail` as the message), or answered something that is not the
 * contract (`invalid`).
 */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly kind: ApiErrorKind;
  readonly status: number | undefined;
  readonly code: string | undefined;

  constructor(
    kind: ApiErrorKind,
    message: string,
    options: { status?: number; code?: string; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.kind = kind;
    this.status = options.status;
    this.code = options.code;
  }
}

/** The BFF's HTTP API, same origin, in the session of the page's cookie. */
export interface Api {
  config(): Promise<ClientConfig>;
  session(): Promise<Session>;
  /** Sets the display name (the account's, when signed in). */
  rename(name: string): Promise<Session>;
  /** Creates an account and signs in: a guest's orders become the account's. */
  signUp(body: SignUpBody): Promise<Session>;
  /** Signs in to an account; rejects with the server's (generic) reason when it cannot. */
  signIn(body: SignInBody): Promise<Session>;
  /** Signs out: the browser is a new guest. */
  signOut(): Promise<Session>;
  /** Ends every session of the account, on every device; this browser is a new guest. */
  signOutEverywhere(): Promise<Session>;
  menu(): Promise<Menu>;
  /** Rejects with an `http` ApiError carrying the server's reason when the order is invalid. */
  placeOrder(body: PlaceOrderBody): Promise<OrderAccepted>;
  orders(): Promise<OrderHistory>;
  /** `undefined` when the order does not exist or is another user's. */
  order(orderId: string): Promise<OrderView | undefined>;
  notifications(): Promise<NotificationInbox>;
  /**
   * The map of the saga the system runs (its steps, their events and labels). Asked once: a
   * success is kept for the lifetime of this `Api`; a failure is not, so the next call asks again.
   */
  saga(): Promise<SagaDescription>;
}

type Fetch = (input: string, init: RequestInit) => Promise<Response>;

export function createApi(fetchImpl: Fetch = (input, init) => fetch(input, init)): Api {
  async function request<T>(
    method: string,
    path: string,
    guard: (value: unknown) => value is T,
    body?: unknown,
  ): Promise<T> {
    let response: Response;
    try {
      response = await fetchImpl(path, {
        method,
        credentials: 'same-origin',
        headers: {
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (cause) {
      throw new ApiError('network', networkErrorMessage, { cause });
    }
    const payload = await readJson(response);
    if (!response.ok) throw problemError(response.status, payload);
    if (!guard(payload)) {
      throw new ApiError('invalid', `The server sent an unexpected answer to ${method} ${path}.`, {
        status: response.status,
      });
    }
    return payload;
  }

  const orderPath = (orderId: string): string => `/api/orders/${encodeURIComponent(orderId)}`;
  // The map changes only when the system is redeployed, and a page is reloaded then.
  let saga: Promise<SagaDescription> | undefined;

  return {
    config: () => request('GET', '/api/config', isClientConfig),
    session: () => request('GET', '/api/session', isSession),
    rename: (name) => request('PUT', '/api/session', isSession, { name }),
    signUp: (body) => request('POST', '/api/account', isSession, body),
    signIn: (body) => request('POST', '/api/session', isSession, body),
    signOut: () => request('DELETE', '/api/session', isSession),
    signOutEverywhere: () => request('DELETE', '/api/account/sessions', isSession),
    menu: () => request('GET', '/api/menu', isMenu),
    placeOrder: (body) => request('POST', '/api/orders', isOrderAccepted, body),
    orders: () => request('GET', '/api/orders', isOrderHistory),
    order: async (orderId) => {
      try {
        return await request('GET', orderPath(orderId), isOrderView);
      } catch (error) {
        if (error instanceof ApiError && error.status === 404) return undefined;
        throw error;
      }
    },
    notifications: () => request('GET', '/api/notifications', isNotificationInbox),
    saga: () => {
      saga ??= request('GET', '/api/saga', isSagaDescription).catch((error: unknown) => {
        saga = undefined;
        throw error;
      });
      return saga;
    },
  };
}

async function readJson(response: Response): Promise<unknown> {
  try {
    return (await response.json()) as unknown;
  } catch {
    return undefined;
  }
}

function problemError(status: number, problem: unknown): ApiError {
  const field = (key: string): string | undefined =>
    isRecord(problem) && typeof problem[key] === 'string' ? problem[key] : undefined;
  const detail = field('detail') ?? field('title');
  // A gateway's own error page (the BFF is down behind a proxy) is unreachability too.
  if (detail === undefined && status >= 502 && status <= 504) {
    return new ApiError('network', networkErrorMessage, { status });
  }
  const message = detail ?? `The server could not do that (HTTP ${status}).`;
  const code = field('code');
  return new ApiError('http', message, { status, ...(code === undefined ? {} : { code }) });
}
