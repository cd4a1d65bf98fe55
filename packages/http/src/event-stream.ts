import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import { createHeartbeat, type Heartbeat } from './heartbeat.ts';

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
   * the client is expected to resume from its last received id. An `EncodedServerSentEvent`
   * goes out as it is: encode an event once to send it on many streams.
   */
  send(event: ServerSentEvent | EncodedServerSentEvent): boolean;
  /** Ends the response. Idempotent. */
  close(): void;
  /** Runs `listener` once when the stream closes, whatever the cause; at once if closed already. */
  onClose(listener: () => void): void;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Streams opened on this app, closed by `createHttpApp`'s preClose hook. */
    cadsEventStreams?: EventStreamRegistry;
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

/** `frame` as one chunk of a `Transfer-Encoding: chunked` body. */
function chunkOf(frame: Buffer): Buffer {
  return Buffer.concat([
    Buffer.from(`${frame.length.toString(16)}\r\n`, 'latin1'),
    frame,
    Buffer.from('\r\n', 'latin1'),
  ]);
}

/**
 * An event in its wire form, made once and sent on any number of streams as it is: a
 * broadcast costs one serialisation, not one per connection.
 */
export class EncodedServerSentEvent {
  /** The event's bytes (`formatServerSentEvent`). */
  readonly frame: Buffer;
  /** The same bytes as one chunk of a `Transfer-Encoding: chunked` body. */
  readonly chunk: Buffer;

  constructor(event: ServerSentEvent) {
    this.frame = Buffer.from(formatServerSentEvent(event), 'utf8');
    this.chunk = chunkOf(this.frame);
  }
}

/** `formatServerSentEvent`, encoded once for any number of streams. */
export function encodeServerSentEvent(event: ServerSentEvent): EncodedServerSentEvent {
  return new EncodedServerSentEvent(event);
}

const heartbeatFrame = Buffer.from(':heartbeat\n\n', 'latin1');
const heartbeatChunk = chunkOf(heartbeatFrame);

function definedHeaders(reply: FastifyReply): OutgoingHttpHeaders {
  return Object.fromEntries(
    Object.entries(reply.getHeaders()).filter(([, value]) => value !== undefined),
  );
}

/**
 * The open event streams of one app, closed together on shutdown, and their heartbeats: one
 * shared timer per heartbeat interval, spreading the heartbeats of all streams evenly over it.
 */
export class EventStreamRegistry {
  readonly #open = new Set<ServerSentEventStream>();
  readonly #heartbeats = new Map<number, Heartbeat<ServerSentEventStream>>();

  add(stream: ServerSentEventStream): void {
    this.#open.add(stream);
    let heartbeat = this.#heartbeats.get(stream.heartbeatMs);
    if (!heartbeat) {
      heartbeat = createHeartbeat({
        intervalMs: stream.heartbeatMs,
        beat: (member: ServerSentEventStream) => member.beat(),
      });
      this.#heartbeats.set(stream.heartbeatMs, heartbeat);
    }
    heartbeat.add(stream);
  }

  delete(stream: ServerSentEventStream): void {
    this.#open.delete(stream);
    this.#heartbeats.get(stream.heartbeatMs)?.delete(stream);
  }

  closeAll(): void {
    for (const stream of [...this.#open]) stream.close();
  }
}

/**
 * One open stream. Its state lives in fields rather than in closures, and it keeps the raw
 * response and the request's logger only (not Fastify's request and reply): it is one of the
 * objects every open connection pays for.
 */
class ServerSentEventStream implements EventStream {
  readonly lastEventId: string | undefined;
  readonly heartbeatMs: number;
  readonly #raw: ServerResponse;
  readonly #log: FastifyBaseLogger;
  readonly #registry: EventStreamRegistry;
  #listeners: (() => void)[] = [];
  #closed = false;
  #stalled = false;
  /** `close`, bound once, for the response's events. */
  readonly finish = (): void => this.close();

  constructor(
    raw: ServerResponse,
    log: FastifyBaseLogger,
    registry: EventStreamRegistry,
    lastEventId: string | undefined,
    heartbeatMs: number,
  ) {
    this.#raw = raw;
    this.#log = log;
    this.#registry = registry;
    this.lastEventId = lastEventId;
    this.heartbeatMs = heartbeatMs;
  }

  get closed(): boolean {
    return this.#closed;
  }

  send(event: ServerSentEvent | EncodedServerSentEvent): boolean {
    const encoded = event instanceof EncodedServerSentEvent ? event : encodeServerSentEvent(event);
    if (this.#closed) return false;
    this.#write(encoded.frame, encoded.chunk);
    return true;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#registry.delete(this);
    if (!this.#raw.writableEnded) this.#raw.end();
    for (const listener of this.#listeners.splice(0)) listener();
  }

  onClose(listener: () => void): void {
    if (this.#closed) listener();
    else this.#listeners.push(listener);
  }

  /**
   * A heartbeat comment, unless what was written is still waiting to drain: the client gets a
   * whole interval to catch up, then the stream is closed rather than buffered without bound.
   */
  beat(): void {
    const socket = this.#raw.socket;
    if (!this.#raw.writableNeedDrain && !socket?.writableNeedDrain) {
      this.#stalled = false;
      this.#write(heartbeatFrame, heartbeatChunk);
    } else if (!this.#stalled) {
      this.#stalled = true;
    } else {
      this.#log.info('event stream closed: the client stopped reading');
      this.#raw.destroy();
      this.close();
    }
  }

  /**
   * The headers went out with the opening comment, so body bytes may go to the socket
   * directly: the bytes `res.write` would send, without its cork, tick and chunk header per
   * write, which dominate a broadcast to thousands of streams. Until the response has its
   * socket (a pipelined request), the response buffers them in order.
   */
  #write(frame: Buffer, chunk: Buffer): void {
    const socket = this.#raw.socket;
    if (socket) socket.write(this.#raw.chunkedEncoding ? chunk : frame);
    else this.#raw.write(frame);
  }
}

/**
 * Turns the reply into a `text/event-stream` response (the reply is hijacked: Fastify sends
 * nothing more for it). Headers disable caching and proxy buffering so events leave at once.
 *
 * A heartbeat comment is written every `heartbeatMs`: it keeps proxies from timing the
 * connection out and makes a write fail on a connection whose peer is gone. A client that has
 * not drained what was written for a whole heartbeat interval is treated as dead, and its
 * stream is closed rather than buffered without bound. The heartbeats of an app's streams
 * share one timer and are spread evenly over the interval. If the app was built by
 * `createHttpApp`, `app.close()` closes open streams first so shutdown is not held up.
 */
export function openEventStream(
  request: FastifyRequest,
  reply: FastifyReply,
  options: EventStreamOptions = {},
): EventStream {
  const header = request.headers['last-event-id'];
  const raw = reply.raw;
  // Outside `createHttpApp`, the stream gets a registry (and heartbeat timer) of its own.
  const registry = request.server.cadsEventStreams ?? new EventStreamRegistry();
  const stream = new ServerSentEventStream(
    raw,
    request.log,
    registry,
    typeof header === 'string' && header !== '' ? header : undefined,
    options.heartbeatMs ?? defaultHeartbeatMs,
  );

  reply.hijack();
  raw.writeHead(200, {
    ...definedHeaders(reply),
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    'x-accel-buffering': 'no',
  });
  // An initial comment flushes the headers, so the client sees the stream open immediately.
  raw.write(options.retryMs === undefined ? ':ok\n\n' : `:ok\nretry: ${options.retryMs}\n\n`);

  raw.on('close', stream.finish);
  // Errors on a dead socket surface here; 'close' follows, and an unhandled 'error' would crash.
  raw.on('error', stream.finish);
  registry.add(stream);
  // The client may have gone before the stream was opened: 'close' will not be emitted again.
  if (raw.destroyed || request.raw.socket.destroyed) stream.close();
  return stream;
}
