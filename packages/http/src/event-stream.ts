import type { OutgoingHttpHeaders } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** One server-sent event. `data` may span lines; `id` and `event` must be single-line. */
export interface ServerSentEvent {
  /** Becomes the client's `Last-Event-ID` when it reconnects. */
  readonly id?: string;
  /** The `addEventListener` name on the client; `message` when absent. */
  readonly event?: string;
  readonly data: string;
}

export interface EventStreamOptions {
  /** Interval of the heartbeat comments; also the grace a stalled client gets. Default 15 s. */
  readonly heartbeatMs?: number;
  /** Reconnection delay suggested to the client (`retry:` field). */
  readonly retryMs?: number;
}

export interface EventStream {
  /** The client's `Last-Event-ID` request header: resume after this event. */
  readonly lastEventId: string | undefined;
  readonly closed: boolean;
  /**
   * Queues `event` on the connection. Returns false (and sends nothing) once the stream is
   * closed. Delivery is at-most-once: an event written just before a disconnect is lost, and
   * the client is expected to resume from its last received id.
   */
  send(event: ServerSentEvent): boolean;
  /** Ends the response. Idempotent. */
  close(): void;
  /** Runs `listener` once when the stream closes, whatever the cause; at once if closed already. */
  onClose(listener: () => void): void;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Streams opened on this app, closed by `createHttpApp`'s preClose hook. */
    cadsEventStreams?: Set<EventStream>;
  }
}

const defaultHeartbeatMs = 15_000;

function assertSingleLine(field: string, value: string): void {
  if (/[\r\n\0]/.test(value)) {
    throw new TypeError(`SSE ${field} must not contain CR, LF or NUL: ${JSON.stringify(value)}`);
  }
}

/**
 * The wire form of `event`. Each line of `data` gets its own `data:` field, so a payload with
 * newlines (CR, LF or CRLF) arrives intact and cannot inject fields or end the event early.
 */
export function formatServerSentEvent(event: ServerSentEvent): string {
  let frame = '';
  if (event.id !== undefined) {
    assertSingleLine('id', event.id);
    frame += `id: ${event.id}\n`;
  }
  if (event.event !== undefined) {
    assertSingleLine('event', event.event);
    frame += `event: ${event.event}\n`;
  }
  for (const line of event.data.split(/\r\n|\r|\n/)) frame += `data: ${line}\n`;
  return `${frame}\n`;
}

function definedHeaders(reply: FastifyReply): OutgoingHttpHeaders {
  return Object.fromEntries(
    Object.entries(reply.getHeaders()).filter(([, value]) => value !== undefined),
  );
}

/**
 * Turns the reply into a `text/event-stream` response (the reply is hijacked: Fastify sends
 * nothing more for it). Headers disable caching and proxy buffering so events leave at once.
 *
 * A heartbeat comment is written every `heartbeatMs`: it keeps proxies from timing the
 * connection out and makes a write fail on a connection whose peer is gone. A client that has
 * not drained what was written for a whole heartbeat interval is treated as dead, and its
 * stream is closed rather than buffered without bound. If the app was built by
 * `createHttpApp`, `app.close()` closes open streams first so shutdown is not held up.
 */
export function openEventStream(
  request: FastifyRequest,
  reply: FastifyReply,
  options: EventStreamOptions = {},
): EventStream {
  const heartbeatMs = options.heartbeatMs ?? defaultHeartbeatMs;
  const header = request.headers['last-event-id'];
  const raw = reply.raw;
  const openStreams = request.server.cadsEventStreams;
  const listeners: (() => void)[] = [];
  let closed = false;
  let stalled = false;

  const stream: EventStream = {
    lastEventId: typeof header === 'string' && header !== '' ? header : undefined,
    get closed() {
      return closed;
    },
    send(event) {
      const frame = formatServerSentEvent(event);
      if (closed) return false;
      raw.write(frame);
      return true;
    },
    close: finish,
    onClose(listener) {
      if (closed) listener();
      else listeners.push(listener);
    },
  };

  reply.hijack();
  raw.writeHead(200, {
    ...definedHeaders(reply),
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    'x-accel-buffering': 'no',
  });
  // An initial comment flushes the headers, so the client sees the stream open immediately.
  raw.write(options.retryMs === undefined ? ':ok\n\n' : `:ok\nretry: ${options.retryMs}\n\n`);

  const heartbeat = setInterval(() => {
    if (!raw.writableNeedDrain) {
      stalled = false;
      raw.write(':heartbeat\n\n');
    } else if (!stalled) {
      stalled = true;
    } else {
      request.log.info('event stream closed: the client stopped reading');
      raw.destroy();
      finish();
    }
  }, heartbeatMs);
  heartbeat.unref();

  function finish(): void {
    if (closed) return;
    closed = true;
    clearInterval(heartbeat);
    openStreams?.delete(stream);
    if (!raw.writableEnded) raw.end();
    for (const listener of listeners.splice(0)) listener();
  }

  raw.on('close', finish);
  // Errors on a dead socket surface here; 'close' follows, and an unhandled 'error' would crash.
  raw.on('error', finish);
  openStreams?.add(stream);
  // The client may have gone before the stream was opened: 'close' will not be emitted again.
  if (raw.destroyed || request.raw.socket.destroyed) finish();
  return stream;
}
