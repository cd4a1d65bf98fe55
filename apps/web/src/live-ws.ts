import type { wsNotFoundCloseCode } from '@cads/bff/contracts';
import { liveSocketUrl, reconnectDelayMs, type LiveConnection, type LiveHandlers } from './live.ts';
import { parseLiveMessage } from './parse.ts';

/** The contract's `wsNotFoundCloseCode`, restated so no contract code enters the bundle. */
const notFoundCloseCode: typeof wsNotFoundCloseCode = 4404;
const normalCloseCode = 1000;

export interface WsDependencies {
  readonly WebSocket: typeof WebSocket;
  /** The page's location: the socket goes to the same host, `wss:` under `https:`. */
  readonly location: { readonly protocol: string; readonly host: string };
}

/**
 * The order's live stream over a WebSocket. Every connection starts with a snapshot, so a
 * reconnection (after a backoff) misses nothing. Close code 4404 means the order is missing or
 * another user's: no further attempt is made.
 */
export function connectWs(
  orderId: string,
  handlers: LiveHandlers,
  dependencies: WsDependencies,
): LiveConnection {
  let socket: WebSocket | undefined;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let attempt = 0;
  let closed = false;
  const url = liveSocketUrl(orderId, dependencies.location);

  function open(): void {
    const current = new dependencies.WebSocket(url);
    socket = current;
    const isCurrent = (): boolean => !closed && socket === current;

    current.addEventListener('open', () => {
      if (!isCurrent()) return;
      attempt = 0;
      handlers.onStatus('open');
    });
    current.addEventListener('message', (event) => {
      if (!isCurrent() || typeof event.data !== 'string') return;
      const message = parseLiveMessage(event.data);
      if (message) handlers.onMessage(message);
    });
    current.addEventListener('close', (event) => {
      if (!isCurrent()) return;
      socket = undefined;
      if (event.code === notFoundCloseCode) {
        closed = true;
        handlers.onStatus('not-found');
        return;
      }
      handlers.onStatus('reconnecting');
      retryTimer = setTimeout(open, reconnectDelayMs(attempt));
      attempt += 1;
    });
  }

  handlers.onStatus('connecting');
  open();

  return {
    close() {
      if (closed) return;
      closed = true;
      clearTimeout(retryTimer);
      socket?.close(normalCloseCode);
      socket = undefined;
    },
  };
}
