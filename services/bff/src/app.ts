import fastifyCookie from '@fastify/cookie';
import fastifyStatic from '@fastify/static';
import fastifyWebsocket from '@fastify/websocket';
import { type HttpApp, httpProblem, type ServiceCredentials } from '@cads/http';
import { foodSaga } from '@cads/food-saga';
import { type Broker, type Logger, parseMessage } from '@cads/messaging';
import type { SagaMap } from '@cads/saga';
import { type ServiceDefinition } from '@cads/service';
import { existsSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { ClientConfig, LiveTransport } from './contracts/api.ts';
import { finalEventTypes } from './contracts/live.ts';
import { registerApiRoutes } from './http/api-routes.ts';
import { installBrowserHeaders } from './http/browser-headers.ts';
import { type BffLimits, defaultLimits, installLimits } from './http/limits.ts';
import { installOperatorSurfaces } from './http/operator-surfaces.ts';
import { installSameOriginCheck } from './http/same-origin.ts';
import { createUpstream } from './http/upstream.ts';
import { LiveHub } from './live/live-hub.ts';
import { registerLiveRoutes } from './live/live-routes.ts';
import { finalEventHandlers } from './notify/final-events.ts';
import { createPresenceRegistry, type PresenceRegistry } from './presence/presence-registry.ts';
import { createAccounts } from './session/accounts.ts';
import { documentSessionSecurity } from './session/session-security.ts';
import type { SessionExpiry } from './session/session-store.ts';
import { createSessions } from './session/sessions.ts';

/** Every event of the saga (an order's timeline): what the live streams push. */
export function liveEventTypes(saga: SagaMap = foodSaga): readonly string[] {
  return saga.events.map(({ type }) => type);
}

export interface BffOptions {
  readonly orderUrl: string;
  readonly notificationsUrl: string;
  /** Signs session cookies; every instance of one deployment must share it. ≥ 32 characters. */
  readonly sessionSecret: string;
  /**
   * Signs the BFF's calls to the order and notifications services (`serviceCredentials` of
   * `@cads/http` with the deployment's internal secret and the name `bff`).
   */
  readonly credentials: ServiceCredentials;
  /** Opens `/metrics` and `/openapi.json` on the BFF's port (`Authorization: Bearer …`). */
  readonly operatorToken: string;
  /** The live transport the web app uses (`FRONT_CONNECTION_TYPE`). Default `sse`. */
  readonly transport?: LiveTransport;
  /** The built web app (`apps/web/dist`); without it `/` says how to build it. */
  readonly webRoot?: string;
  /** Names this instance in the presence registry. Default: a new random id. */
  readonly instanceId?: string;
  /** Heartbeat of live connections. Default 15 000. */
  readonly heartbeatMs?: number;
  /** When the page tells the user they may leave. Default 5 000. */
  readonly slowNoticeMs?: number;
  /** A dead instance's users count as offline after this long. Default 15 000. */
  readonly presenceTtlMs?: number;
  /** `Secure` session cookies (serve over HTTPS). Default false. */
  readonly secureCookies?: boolean;
  /**
   * When sessions end: unused for `idleMs` (default 7 days), or `absoluteMs` after they began
   * (default 30 days). Each instance of one deployment should use the same.
   */
  readonly sessions?: Partial<SessionExpiry>;
  /**
   * Origins besides the BFF's own (its `Host`) allowed to send state-changing requests and to
   * open live WebSockets with the user's cookie; see `installSameOriginCheck`. Default none.
   */
  readonly allowedOrigins?: readonly string[];
  /** Rate limits and caps on live connections; each one defaults to `defaultLimits`'. */
  readonly limits?: Partial<BffLimits>;
  /**
   * The saga the orders run. Default: the food saga. What streams live, which events are final
   * and how they are notified, and what `GET /api/saga` describes all come from the map, so a
   * map composed with more steps runs without a change here.
   */
  readonly saga?: SagaMap;
}

/** What one running BFF exposes to its composition root (tests and benchmarks read it). */
export interface BffInstance {
  readonly definition: ServiceDefinition;
  readonly hub: LiveHub;
  readonly instanceId: string;
}

/**
 * The backend-for-frontend: the web app, the browser's API on a signed session, each order's
 * live progress over SSE and WebSocket, and the offline notification of final events.
 *
 * Several instances may run against one database and broker: each pushes every event to its
 * own connections (a broadcast subscription), the offline decision is made once per final
 * event (the competing group `bff`) from the presence registry they share.
 */
export function bffService(options: BffOptions): BffInstance {
  if (options.sessionSecret.length < 32) {
    throw new Error('the BFF session secret must have at least 32 characters');
  }
  const instanceId = options.instanceId ?? randomUUID();
  const saga = options.saga ?? foodSaga;
  const finalTypes: ReadonlySet<string> = new Set(saga.finalEvents.map(({ type }) => type));
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  const clientConfig: ClientConfig = {
    transport: options.transport ?? 'sse',
    slowNoticeMs: options.slowNoticeMs ?? 5_000,
    heartbeatMs,
  };
  const hub = new LiveHub();
  const upstream = createUpstream({
    orderUrl: options.orderUrl,
    notificationsUrl: options.notificationsUrl,
    credentials: options.credentials,
  });
  let presence: PresenceRegistry | undefined;
  const presenceOf = (): PresenceRegistry => {
    if (!presence) throw new Error('the BFF is not started');
    return presence;
  };
  /** Lazy, so the routes and the consumer share the registry `run` builds on the database. */
  const sharedPresence: PresenceRegistry = {
    start: () => presenceOf().start(),
    enter: (userId, orderId) => presenceOf().enter(userId, orderId),
    leave: (userId, orderId) => presenceOf().leave(userId, orderId),
    isOnline: (userId, orderId, eventId) => presenceOf().isOnline(userId, orderId, eventId),
    sawLive: (eventId) => presenceOf().sawLive(eventId),
    stop: () => presenceOf().stop(),
    get localConnections() {
      return presence?.localConnections ?? 0;
    },
  };
  let stopLiveRoutes: (() => void) | undefined;

  const definition: ServiceDefinition = {
    name: 'bff',
    description:
      'Backend-for-frontend: sessions, the web app, live order progress (SSE and WebSocket), ' +
      'offline notifications.',
    migrations: new URL('../migrations/', import.meta.url),
    consumer: {
      handlers: finalEventHandlers({
        saga,
        presence: sharedPresence,
        notificationsUrl: options.notificationsUrl,
        credentials: options.credentials,
      }),
    },
    async routes(app, { db, log }) {
      presence = createPresenceRegistry({
        db,
        instanceId,
        log,
        ...(options.presenceTtlMs === undefined ? {} : { ttlMs: options.presenceTtlMs }),
      });
      installOperatorSurfaces(app, options.operatorToken);
      await installBrowserHeaders(app, options.secureCookies ?? false);
      installSameOriginCheck(app, {
        ...(options.allowedOrigins ? { allowedOrigins: options.allowedOrigins } : {}),
      });
      await app.register(fastifyCookie, { secret: options.sessionSecret });
      const sessions = createSessions({
        db,
        log,
        secure: options.secureCookies ?? false,
        ...(options.sessions ? { expiry: options.sessions } : {}),
      });
      sessions.install(app);
      const accounts = createAccounts({ db, sessions });
      const limits = await installLimits(app, { ...defaultLimits, ...options.limits }, sessions);
      // No compression: the live routes write prebuilt uncompressed frames (live-routes.ts),
      // and deflate state per socket would cost more memory than the messages save.
      await app.register(fastifyWebsocket, {
        options: { maxPayload: 4 * 1024, perMessageDeflate: false },
      });
      // A WebSocket handshake answered with anything but an upgrade (403, 404, 429) leaves
      // its socket to nobody: the HTTP server gave it up for the upgrade. Closed once the
      // answer is out, or every refused handshake would hold a socket (and stall shutdown).
      app.addHook('onResponse', (request, _reply, done) => {
        if (request.headers.upgrade?.toLowerCase() === 'websocket')
          request.raw.socket.destroySoon();
        done();
      });
      documentSessionSecurity(app);
      registerApiRoutes(app, { sessions, accounts, upstream, clientConfig, saga, limits });
      stopLiveRoutes = registerLiveRoutes(app, {
        hub,
        presence: sharedPresence,
        upstream,
        sessions,
        limits,
        heartbeatMs,
        finalTypes,
        log,
      });
      await registerWebApp(app, options.webRoot);
      app.addHook('preClose', (done) => {
        stopLiveRoutes?.();
        hub.closeAll();
        done();
      });
      app.addHook('onClose', (_instance, done) => {
        upstream.close();
        done();
      });
    },
    async run({ broker, log }) {
      await presenceOf().start();
      const subscription = await subscribeLive(broker, hub, liveEventTypes(saga), log);
      return async () => {
        await subscription.stop();
        hub.closeAll();
        hub.dispose();
        await presenceOf().stop();
      };
    },
  };
  return { definition, hub, instanceId };
}

/**
 * Every instance gets every saga event and pushes it to its connections of that order. The
 * connections record the final events they showed as seen (`registerLiveRoutes`).
 */
async function subscribeLive(broker: Broker, hub: LiveHub, types: readonly string[], log: Logger) {
  return broker.subscribe(
    { group: 'bff-live', types, mode: 'broadcast', maxInFlight: 256 },
    async (delivery) => {
      try {
        const message = parseMessage(delivery.body);
        if (message.subject !== undefined && typeof message.data === 'object' && message.data) {
          hub.publish(message.subject, {
            id: message.id,
            type: message.type,
            time: message.time,
            data: message.data,
          });
        }
      } catch (error) {
        // Not ours to dead-letter: the services that consume it do. Nothing to show either.
        log.debug({ err: error }, 'live stream skipped an invalid message');
      }
      await delivery.ack();
    },
  );
}

/** Whether the URL's path, decoded, climbs with a `..` segment (`/`, `\\` or encoded). */
export function climbsOut(url: string): boolean {
  const path = url.split('?', 1)[0] ?? '';
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return false; // Malformed escapes are refused by the router itself (400).
  }
  return decoded.split(/[/\\]/).includes('..');
}

async function registerWebApp(app: HttpApp, webRoot: string | undefined): Promise<void> {
  // A path that climbs out of the web app is no file of it: 404 here, rather than the static
  // server's own refusal (which would surface as an internal error).
  app.addHook('onRequest', (request, _reply, done) => {
    done(climbsOut(request.url) ? httpProblem('CADS_NOT_FOUND', 'No such file.') : undefined);
  });
  if (webRoot !== undefined && existsSync(join(webRoot, 'index.html'))) {
    await app.register(fastifyStatic, { root: webRoot, prefix: '/', index: 'index.html' });
    return;
  }
  app.get('/', { schema: { hide: true } }, () => {
    throw httpProblem(
      'CADS_UNAVAILABLE',
      'The web app is not built: run `npm run build:web` (npm start does it).',
    );
  });
}

export { finalEventTypes };
