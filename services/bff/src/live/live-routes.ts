import {
  createHeartbeat,
  eventStreamResponse,
  type HttpApp,
  httpProblem,
  openEventStream,
  ProblemDetailsSchema,
} from '@cads/http';
import type { Logger } from '@cads/messaging';
import { OrderParams, type OrderView, type TimelineEntry } from '@cads/order/contracts';
import type { WebSocket } from '@fastify/websocket';
import { wsNotFoundCloseCode } from '../contracts/live.ts';
import type { Upstream } from '../http/upstream.ts';
import type { LimitHooks } from '../http/limits.ts';
import type { PresenceRegistry } from '../presence/presence-registry.ts';
import type { Sessions } from '../session/sessions.ts';
import { EncodedLiveMessage } from './encoded-message.ts';
import type { LiveHub } from './live-hub.ts';
import { OrderWatch } from './order-watch.ts';

export interface LiveRouteOptions {
  readonly hub: LiveHub;
  readonly presence: PresenceRegistry;
  readonly upstream: Upstream;
  readonly sessions: Sessions;
  /** Caps on open live connections (`openLive`). */
  readonly limits: Pick<LimitHooks, 'openLive'>;
  readonly heartbeatMs: number;
  /** The saga's final events (its map's `finalEvents`): seen live, they are not notified. */
  readonly finalTypes: ReadonlySet<string>;
  readonly log: Logger;
}

/** A WebSocket that has not drained this much is too slow to keep up: it is dropped. */
const maxBufferedBytes = 1 << 20;

/**
 * `GET /api/orders/:id/events` (SSE) and `GET /api/orders/:id/ws` (WebSocket): the order's
 * state, then its saga events as they happen (protocol in `contracts/live.ts`).
 *
 * Guarantees: the user's presence on the order is stored and the connection registered for
 * live events *before* the state is read, so an event is either in the state or sent after it
 * (never lost), and is sent at most once per connection. A final event is recorded as seen
 * live (`sawLive`: its user is not notified) once it was written to an open connection, in the
 * state or live; one that reached a connection which closed before its state was sent is not.
 * Only the session's user's orders stream.
 */
export function registerLiveRoutes(app: HttpApp, options: LiveRouteOptions): () => void {
  const { hub, presence, upstream, sessions, heartbeatMs, finalTypes, log, limits } = options;

  /** Registers a watch, then reads the order; `undefined` (and nothing left open) if not theirs. */
  async function startWatch(
    userId: string,
    orderId: string,
  ): Promise<{ watch: OrderWatch; order: OrderView } | undefined> {
    const watch = new OrderWatch(orderId, userId, recordSeen);
    await presence.enter(userId, orderId);
    hub.add(watch);
    try {
      const order = await upstream.findOrder(userId, orderId);
      if (order) return { watch, order };
    } catch (error) {
      endWatch(watch);
      throw error;
    }
    endWatch(watch);
    return undefined;
  }

  function recordSeen(events: readonly TimelineEntry[]): void {
    for (const event of events) {
      if (!finalTypes.has(event.type)) continue;
      presence.sawLive(event.id).catch((error: unknown) => {
        log.warn({ err: error }, 'could not record a final event as seen');
      });
    }
  }

  function endWatch(watch: OrderWatch): void {
    hub.remove(watch);
    presence.leave(watch.userId, watch.orderId);
    watch.close();
  }

  app.get(
    '/api/orders/:id/events',
    {
      onRequest: limits.openLive,
      schema: {
        tags: ['live'],
        operationId: 'streamOrderEvents',
        summary: 'Live progress of one order (Server-Sent Events)',
        description:
          'Events `snapshot` (OrderView) then `saga` (TimelineEntry); `Last-Event-ID` resumes.',
        params: OrderParams,
        response: {
          200: eventStreamResponse('The order’s events, as they happen, until the client leaves.'),
          404: ProblemDetailsSchema,
          429: ProblemDetailsSchema,
          503: ProblemDetailsSchema,
        },
      },
    },
    async (request, reply) => {
      const session = sessions.of(request, reply);
      const started = await startWatch(session.userId, request.params.id);
      if (!started) throw httpProblem('CADS_NOT_FOUND', `There is no order ${request.params.id}.`);
      const { watch, order } = started;
      const stream = openEventStream(request, reply, { heartbeatMs, retryMs: 1_000 });
      stream.onClose(() => endWatch(watch));
      watch.begin(
        { send: (message) => stream.send(message.sse), close: () => stream.close() },
        order,
        stream.lastEventId,
      );
    },
  );

  /** Sockets that have not answered their last ping yet. */
  const unanswered = new Set<WebSocket>();
  // Pings spread evenly over the interval: 19 000 at once would hold up live events.
  const heartbeat = createHeartbeat<WebSocket>({
    intervalMs: heartbeatMs,
    beat(socket) {
      if (unanswered.has(socket)) {
        socket.terminate();
        return;
      }
      unanswered.add(socket);
      socket.ping();
    },
  });

  app.get(
    '/api/orders/:id/ws',
    {
      websocket: true,
      onRequest: limits.openLive,
      schema: {
        tags: ['live'],
        summary: 'Live progress of one order (WebSocket)',
        description:
          'Text frames of LiveMessage JSON: `snapshot`, then `saga`; close code 4404 when ' +
          'the order is not the user’s.',
        params: OrderParams,
      },
    },
    (socket, request) => {
      const session = sessions.read(request);
      const orderId = request.params.id;
      // The upgraded TCP connection. Messages go to it as frames built once per message
      // (`wsFrame`), one write each, instead of through `socket.send`, which frames every
      // message for every socket anew. Safe because ws writes each of its own frames (pings,
      // close) whole and synchronously, and this server sends no fragmented or compressed
      // message: a frame written here never lands inside one of ws's.
      const connection = request.raw.socket;
      const send = (message: EncodedLiveMessage): boolean => {
        if (socket.readyState !== socket.OPEN) return false;
        if (socket.bufferedAmount > maxBufferedBytes) {
          socket.terminate();
          return false;
        }
        connection.write(message.wsFrame);
        return true;
      };
      heartbeat.add(socket);
      socket.on('pong', () => unanswered.delete(socket));
      let watch: OrderWatch | undefined;
      let closed = false;
      socket.on('close', () => {
        closed = true;
        heartbeat.delete(socket);
        unanswered.delete(socket);
        if (watch) endWatch(watch);
      });
      socket.on('error', (error: Error) => log.debug({ err: error }, 'websocket error'));
      if (!session) {
        send(errorMessage('CADS_UNAUTHORIZED', 'No session: load the app.'));
        socket.close(4401, 'no session');
        return;
      }
      startWatch(session.userId, orderId).then(
        (started) => {
          if (!started) {
            send(errorMessage('CADS_NOT_FOUND', `There is no order ${orderId}.`));
            socket.close(wsNotFoundCloseCode, 'order not found');
            return;
          }
          watch = started.watch;
          if (closed) {
            endWatch(watch);
            return;
          }
          watch.begin({ send, close: () => socket.close(1000, 'done') }, started.order, undefined);
        },
        (error: unknown) => {
          log.warn({ err: error }, 'live order stream could not start');
          send(errorMessage('CADS_UNAVAILABLE', 'Try again in a moment.'));
          socket.close(1011, 'unavailable');
        },
      );
    },
  );

  return () => {
    for (const socket of [...heartbeat.members()]) {
      heartbeat.delete(socket);
      socket.close(1001, 'server shutting down');
    }
  };
}

function errorMessage(code: string, detail: string): EncodedLiveMessage {
  return new EncodedLiveMessage({ type: 'error', code, detail }, undefined);
}
