import { foodSaga } from '@cads/food-saga';
import type { OrderView, TimelineEntry } from '@cads/order/contracts';

/**
 * The live stream of one order, the same messages on both transports.
 *
 * On connect the BFF first sends a `snapshot` (the order's current state and its whole
 * timeline), then a `saga` message for each event of the order as it happens, so nothing that
 * happened before the connection is missed. A client applies messages idempotently by event id
 * (the snapshot and a live event may overlap); `saga` events may arrive in another order than
 * the timeline's (which is sorted by time).
 *
 * **SSE** — `GET /api/orders/:id/events`, `text/event-stream`:
 * - `event: snapshot`, `id:` the last timeline event's id, `data:` `OrderView` JSON;
 * - `event: saga`, `id:` the event id, `data:` `TimelineEntry` JSON;
 * - a comment line (`: heartbeat`) every `heartbeatMs`;
 * - `retry:` tells the browser how soon to reconnect. On reconnect the browser sends
 *   `Last-Event-ID`; when the BFF finds that event on the order's timeline it sends only the
 *   timeline events after it (as `saga` messages), else a fresh snapshot.
 * - Another user's or a missing order → 404 problem+json before the stream starts.
 *
 * **WebSocket** — `GET /api/orders/:id/ws`: text frames of `LiveMessage` JSON. The server pings
 * every `heartbeatMs` and closes a connection that did not answer the previous ping. A missing
 * or foreign order gets an `error` message, then close code 4404. The client sends nothing.
 */
export type LiveMessage =
  | { readonly type: 'snapshot'; readonly order: OrderView }
  | { readonly type: 'saga'; readonly event: TimelineEntry }
  | { readonly type: 'error'; readonly code: string; readonly detail: string };

/**
 * The food saga's final events, from its map: its completion, each step's failure, then the
 * deadline's event. Each
 * ends the saga for the user (and may become a notification). A BFF built on another map
 * reads that map's `finalEvents`.
 */
export const finalEventTypes: readonly string[] = foodSaga.finalEvents.map(({ type }) => type);

/** Close code of a WebSocket for an order that is missing or another user's. */
export const wsNotFoundCloseCode = 4404;
