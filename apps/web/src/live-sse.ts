import {
  liveEventsPath,
  reconnectDelayMs,
  type LiveConnection,
  type LiveHandlers,
} from './live.ts';
import { isOrderView, isTimelineEntry, parseJson, parseLiveMessage } from './parse.ts';

export interface SseDependencies {
  readonly EventSource: typeof EventSource;
  /**
   * Whether the order exists for this user (`undefined`: could not tell). Asked when the browser
   * gives up on a stream, since an EventSource cannot see why (a 404 and a 503 look the same).
   */
  readonly orderExists: (orderId: string) => Promise<boolean | undefined>;
}

/**
 * The order's live stream over Server-Sent Events. While the stream is up the browser reconnects
 * by itself and sends `Last-Event-ID`, so the server resumes after the last event seen. When the
 * browser gives up (an HTTP error), this opens a new stream after a backoff, which starts with a
 * fresh snapshot, unless the order turns out not to exist.
 */
export function connectSse(
  orderId: string,
  handlers: LiveHandlers,
  dependencies: SseDependencies,
): LiveConnection {
  let source: EventSource | undefined;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let attempt = 0;
  let closed = false;

  const dataOf = (event: Event): unknown =>
    event instanceof MessageEvent && typeof event.data === 'string'
      ? parseJson(event.data)
      : undefined;

  function open(): void {
    const current = new dependencies.EventSource(liveEventsPath(orderId));
    source = current;
    const isCurrent = (): boolean => !closed && source === current;

    current.addEventListener('open', () => {
      if (!isCurrent()) return;
      attempt = 0;
      handlers.onStatus('open');
    });
    current.addEventListener('snapshot', (event) => {
      const order = dataOf(event);
      if (isCurrent() && isOrderView(order)) handlers.onMessage({ type: 'snapshot', order });
    });
    current.addEventListener('saga', (event) => {
      const entry = dataOf(event);
      if (isCurrent() && isTimelineEntry(entry)) handlers.onMessage({ type: 'saga', event: entry });
    });
    current.addEventListener('error', (event) => {
      if (!isCurrent()) return;
      // A server-sent `event: error` message arrives here too.
      if (event instanceof MessageEvent && typeof event.data === 'string') {
        const message = parseLiveMessage(event.data);
        if (message) handlers.onMessage(message);
        return;
      }
      handlers.onStatus('reconnecting');
      if (current.readyState !== dependencies.EventSource.CLOSED) return;
      current.close();
      source = undefined;
      void dependencies.orderExists(orderId).then((exists) => {
        if (closed) return;
        if (exists === false) {
          closed = true;
          handlers.onStatus('not-found');
          return;
        }
        retryTimer = setTimeout(open, reconnectDelayMs(attempt));
        attempt += 1;
      });
    });
  }

  handlers.onStatus('connecting');
  open();

  return {
    close() {
      if (closed) return;
      closed = true;
      clearTimeout(retryTimer);
      source?.close();
      source = undefined;
    },
  };
}
