import { httpProblem, type ServiceCredentials } from '@cads/http';
import { Agent, request } from 'node:http';
import type { NotificationInbox } from '../contracts/api.ts';
import type { OrderHistory, OrderView, PlaceOrderBody } from '@cads/order/contracts';

/** An answer of another service, passed on to the browser as it is (status and JSON body). */
export interface UpstreamAnswer {
  readonly status: number;
  readonly body: unknown;
}

export interface UpstreamOptions {
  readonly orderUrl: string;
  readonly notificationsUrl: string;
  /** Signs each call with a service token acting for the session's user. */
  readonly credentials: ServiceCredentials;
  /** Limit of one call, waiting for a free connection included. Default 5 000. */
  readonly timeoutMs?: number;
  /**
   * Connections to each service, at most (kept alive between calls). Default 32. Calls beyond
   * wait for one: a burst of thousands of live connections opening at once (each reads its
   * order) must not open a socket each, in a process whose file descriptors hold its clients.
   */
  readonly maxConnections?: number;
}

interface Call {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
}

/**
 * The services the BFF reads and writes for the browser. Every call carries a service token
 * acting for the session's user, so the order and notifications services show and change only
 * that user's data, whoever else reaches them.
 */
export interface Upstream {
  placeOrder(userId: string, body: PlaceOrderBody): Promise<UpstreamAnswer>;
  /** The order if it is the user's; `undefined` when it is missing or someone else's. */
  findOrder(userId: string, orderId: string): Promise<OrderView | undefined>;
  history(userId: string): Promise<OrderHistory>;
  notifications(userId: string): Promise<NotificationInbox>;
  /** Closes the connections kept alive (calls after this open new ones). */
  close(): void;
}

export function createUpstream(options: UpstreamOptions): Upstream {
  const timeoutMs = options.timeoutMs ?? 5_000;
  const agent = new Agent({ keepAlive: true, maxSockets: options.maxConnections ?? 32 });

  function send(url: string, init: Call): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          method: init.method ?? 'GET',
          ...(init.headers ? { headers: init.headers } : {}),
          agent,
          signal: AbortSignal.timeout(timeoutMs),
        },
        (res) => {
          res.setEncoding('utf8');
          let text = '';
          res.on('data', (chunk: string) => {
            text += chunk;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(init.body);
    });
  }

  async function call(service: string, url: string, init: Call = {}): Promise<UpstreamAnswer> {
    let response: { status: number; text: string };
    try {
      response = await send(url, init);
    } catch (error) {
      throw httpProblem(
        'CADS_UNAVAILABLE',
        `The ${service} service cannot be reached; try again.`,
        {
          cause: error,
          headers: { 'retry-after': '1' },
        },
      );
    }
    const { text } = response;
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch (error) {
      throw httpProblem('CADS_UNAVAILABLE', `The ${service} service answered garbage.`, {
        cause: error,
      });
    }
    if (response.status >= 500) {
      throw httpProblem('CADS_UNAVAILABLE', `The ${service} service failed; try again.`, {
        headers: { 'retry-after': '1' },
      });
    }
    // The service refused the BFF's own credential (an internal secret not rolled out
    // everywhere yet): the deployment's fault, never the user's, so not passed on as a 401.
    if (response.status === 401) {
      throw httpProblem('CADS_UNAVAILABLE', `The ${service} service refused this BFF; try again.`, {
        headers: { 'retry-after': '1' },
      });
    }
    return { status: response.status, body };
  }

  function expectOk(service: string, answer: UpstreamAnswer): unknown {
    if (answer.status !== 200) {
      throw new Error(`${service} answered ${answer.status}: ${JSON.stringify(answer.body)}`);
    }
    return answer.body;
  }

  const orders = `${options.orderUrl}/api/orders`;
  const notifications = `${options.notificationsUrl}/api/notifications`;
  const actingFor = async (audience: string, userId: string) => ({
    authorization: await options.credentials.authorization(audience, userId),
  });
  return {
    placeOrder: async (userId, body) =>
      call('order', orders, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(await actingFor('order', userId)) },
        body: JSON.stringify(body),
      }),
    async findOrder(userId, orderId) {
      const answer = await call('order', `${orders}/${encodeURIComponent(orderId)}`, {
        headers: await actingFor('order', userId),
      });
      if (answer.status === 404) return undefined;
      return expectOk('order', answer) as OrderView;
    },
    async history(userId) {
      const query = new URLSearchParams({ userId });
      const answer = await call('order', `${orders}?${query.toString()}`, {
        headers: await actingFor('order', userId),
      });
      return expectOk('order', answer) as OrderHistory;
    },
    async notifications(userId) {
      const query = new URLSearchParams({ userId });
      return expectOk(
        'notifications',
        await call('notifications', `${notifications}?${query.toString()}`, {
          headers: await actingFor('notifications', userId),
        }),
      ) as NotificationInbox;
    },
    close: () => agent.destroy(),
  };
}
