import fastifyRateLimit from '@fastify/rate-limit';
import { type HttpApp, httpProblem } from '@cads/http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { normaliseEmail } from '../session/account-store.ts';
import type { Sessions } from '../session/sessions.ts';

/**
 * What one browser, or one address, may do. Counted by each BFF instance on its own: behind a
 * load balancer spreading users over N instances, a user may reach up to N times these.
 */
export interface BffLimits {
  /** Orders one user may place per minute. */
  readonly ordersPerUserPerMinute: number;
  /** Orders one IP address may place per minute (a guest can make a new session at will). */
  readonly ordersPerIpPerMinute: number;
  /** Session changes (a name, a sign-out) one IP address may make per minute. */
  readonly sessionChangesPerIpPerMinute: number;
  /** Sign-in attempts one IP address may make per minute (each one costs a password hash). */
  readonly signInsPerIpPerMinute: number;
  /** Sign-in attempts per minute on one email, from any address: slows password guessing. */
  readonly signInsPerEmailPerMinute: number;
  /** Accounts one IP address may try to create per minute. */
  readonly signUpsPerIpPerMinute: number;
  /** Live connections (SSE and WebSocket together) one user may hold open. */
  readonly liveConnectionsPerUser: number;
  /** Live connections one IP address may hold open. */
  readonly liveConnectionsPerIp: number;
}

export const defaultLimits: BffLimits = {
  ordersPerUserPerMinute: 30,
  ordersPerIpPerMinute: 300,
  sessionChangesPerIpPerMinute: 60,
  signInsPerIpPerMinute: 10,
  signInsPerEmailPerMinute: 5,
  signUpsPerIpPerMinute: 5,
  liveConnectionsPerUser: 20,
  liveConnectionsPerIp: 200,
};

type Hook = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

export interface LimitHooks {
  /** For `POST /api/orders`: per user and per address. */
  readonly placeOrder: Hook;
  /** For the session's writes: per address. */
  readonly changeSession: Hook;
  /**
   * For sign-in, as a `preHandler` (it reads the validated body): per address, then per email.
   * An attempt refused by the address limit does not count against the email.
   */
  readonly signIn: Hook;
  /** For sign-up: per address. */
  readonly signUp: Hook;
  /** For the live routes: takes a connection slot, given back when the connection closes. */
  readonly openLive: Hook;
}

/**
 * The limits as route hooks. Over a rate → 429 with `Retry-After` (seconds until the window
 * frees a request); over a connection cap → 429 before the stream opens or the socket upgrades.
 */
export async function installLimits(
  app: HttpApp,
  limits: BffLimits,
  sessions: Sessions,
): Promise<LimitHooks> {
  // The counters only: each hook below decides and answers itself.
  await app.register(fastifyRateLimit, { global: false });
  const userOrIp = (request: FastifyRequest) =>
    `user:${sessions.read(request)?.userId ?? `ip:${request.ip}`}`;
  const perMinute = (name: string, max: number, key: (request: FastifyRequest) => string) => {
    const limiter = app.createRateLimit({
      max,
      timeWindow: 60_000,
      keyGenerator: (request) => `${name}:${key(request)}`,
    });
    return async (request: FastifyRequest, what: string) => {
      const state = await limiter(request);
      if (state.isAllowed || !state.isExceeded) return;
      throw httpProblem(
        'CADS_TOO_MANY_REQUESTS',
        `Too many ${what}: at most ${max} a minute. Try again in ${state.ttlInSeconds} s.`,
        { headers: { 'retry-after': String(state.ttlInSeconds) } },
      );
    };
  };
  const ordersByUser = perMinute('orders', limits.ordersPerUserPerMinute, userOrIp);
  const ordersByIp = perMinute('orders-ip', limits.ordersPerIpPerMinute, (r) => r.ip);
  const sessionByIp = perMinute('session-ip', limits.sessionChangesPerIpPerMinute, (r) => r.ip);
  const signInByIp = perMinute('sign-in-ip', limits.signInsPerIpPerMinute, (r) => r.ip);
  const signInByEmail = perMinute('sign-in-email', limits.signInsPerEmailPerMinute, emailOf);
  const signUpByIp = perMinute('sign-up-ip', limits.signUpsPerIpPerMinute, (r) => r.ip);

  const live = new Map<string, number>();
  const take = (key: string, cap: number): boolean => {
    const held = live.get(key) ?? 0;
    if (held >= cap) return false;
    live.set(key, held + 1);
    return true;
  };
  const give = (key: string) => {
    const held = (live.get(key) ?? 1) - 1;
    if (held <= 0) live.delete(key);
    else live.set(key, held);
  };

  return {
    async placeOrder(request) {
      await ordersByIp(request, 'orders from this address');
      await ordersByUser(request, 'orders');
    },
    async changeSession(request) {
      await sessionByIp(request, 'session changes from this address');
    },
    async signIn(request) {
      await signInByIp(request, 'sign-in attempts from this address');
      await signInByEmail(request, 'sign-in attempts for this email');
    },
    async signUp(request) {
      await signUpByIp(request, 'sign-ups from this address');
    },
    openLive(request, reply) {
      const userId = sessions.read(request)?.userId;
      const keys: string[] = [];
      const refuse = (what: string, cap: number) =>
        httpProblem(
          'CADS_TOO_MANY_REQUESTS',
          `Too many live connections ${what}: at most ${cap} open at once. Close one first.`,
          { headers: { 'retry-after': '5' } },
        );
      if (!take(`ip:${request.ip}`, limits.liveConnectionsPerIp)) {
        return Promise.reject(refuse('from this address', limits.liveConnectionsPerIp));
      }
      keys.push(`ip:${request.ip}`);
      if (userId !== undefined) {
        if (!take(`user:${userId}`, limits.liveConnectionsPerUser)) {
          give(keys[0]!);
          return Promise.reject(refuse('for this user', limits.liveConnectionsPerUser));
        }
        keys.push(`user:${userId}`);
      }
      // The slot is held until the connection ends: the socket a WebSocket takes over, or the
      // response (an event stream, or a refusal).
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        for (const key of keys) give(key);
      };
      request.raw.socket.once('close', release);
      if (request.headers.upgrade?.toLowerCase() !== 'websocket') reply.raw.once('close', release);
      return Promise.resolve();
    },
  };
}

/** The body's email as accounts compare it (trimmed, lower-case); `''` when there is none. */
function emailOf(request: FastifyRequest): string {
  const body: unknown = request.body;
  if (typeof body !== 'object' || body === null || !('email' in body)) return '';
  return typeof body.email === 'string' ? normaliseEmail(body.email) : '';
}
