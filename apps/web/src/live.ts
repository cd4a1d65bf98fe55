import type { LiveMessage, LiveTransport } from '@cads/bff/contracts';

/**
 * The live stream of one order's saga, the same over SSE (`live-sse.ts`) and WebSocket
 * (`live-ws.ts`).
 */

export type LiveStatus =
  /** The first connection is being made. */
  | 'connecting'
  | 'open'
  /** The connection dropped; a new one is on its way. */
  | 'reconnecting'
  /** The order does not exist or is another user's; no further attempt is made. */
  | 'not-found'
  /** `close()` was called. */
  | 'closed';

export interface LiveHandlers {
  onMessage(message: LiveMessage): void;
  onStatus(status: LiveStatus): void;
}

/**
 * Guarantee: reconnects by itself (backoff 0.5 s doubling to 5 s) until `close()` or a
 * not-found answer. Every (re)connection starts with a snapshot or with the events missed since
 * the last one seen, so no event is lost, but one may arrive twice and in another order than it
 * happened: apply messages idempotently by event id. After `close()` (idempotent) no handler is
 * called again.
 */
export interface LiveConnection {
  close(): void;
}

export type ConnectLive = (orderId: string, handlers: LiveHandlers) => LiveConnection;

export const reconnectInitialDelayMs = 500;
export const reconnectMaxDelayMs = 5_000;

/** How long to wait before reconnection attempt number `attempt` (0 for the first). */
export function reconnectDelayMs(attempt: number): number {
  return Math.min(reconnectMaxDelayMs, reconnectInitialDelayMs * 2 ** Math.max(0, attempt));
}

/** The server's choice, unless the page's URL says `?transport=sse` or `?transport=ws`. */
export function chooseTransport(configured: LiveTransport, search: string): LiveTransport {
  const requested = new URLSearchParams(search).get('transport');
  return requested === 'sse' || requested === 'ws' ? requested : configured;
}

export function liveEventsPath(orderId: string): string {
  return `/api/orders/${encodeURIComponent(orderId)}/events`;
}

export function liveSocketUrl(
  orderId: string,
  location: { readonly protocol: string; readonly host: string },
): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/api/orders/${encodeURIComponent(orderId)}/ws`;
}
