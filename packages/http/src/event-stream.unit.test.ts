import { once } from 'node:events';
import { connect } from 'node:net';
import Fastify from 'fastify';
import { pino } from 'pino';
import Type from 'typebox';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  encodeServerSentEvent,
  type EventStream,
  formatServerSentEvent,
  openEventStream,
} from './event-stream.ts';
import { createHttpApp, type HttpApp } from './http-app.ts';

describe('formatServerSentEvent', () => {
  it('gives every line of data its own data field, whatever the line ending', () => {
    expect(formatServerSentEvent({ id: '7', event: 'step', data: 'a\nb\r\nc\rd' })).toBe(
      'id: 7\nevent: step\ndata: a\ndata: b\ndata: c\ndata: d\n\n',
    );
    expect(formatServerSentEvent({ data: '' })).toBe('data: \n\n');
  });

  it('refuses ids and event names that would inject fields', () => {
    expect(() => formatServerSentEvent({ id: '1\ndata: x', data: 'y' })).toThrow(TypeError);
    expect(() => formatServerSentEvent({ event: 'a\rb', data: 'y' })).toThrow(TypeError);
  });
});

interface ParsedEvent {
  id?: string;
  event?: string;
  data: string;
}

/** Reads an SSE response as a browser would, keeping comments so heartbeats are visible. */
function sseReader(body: ReadableStream<Uint8Array>) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  const comments: string[] = [];
  const events: ParsedEvent[] = [];
  const retries: string[] = [];

  const parse = (block: string): void => {
    const event: ParsedEvent = { data: '' };
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) comments.push(line.slice(1));
      else {
        const colon = line.indexOf(':');
        const field = line.slice(0, colon);
        const value = line.slice(colon + 1).replace(/^ /, '');
        if (field === 'data') data.push(value);
        else if (field === 'id') event.id = value;
        else if (field === 'event') event.event = value;
        else if (field === 'retry') retries.push(value);
      }
    }
    if (data.length > 0) events.push({ ...event, data: data.join('\n') });
  };

  return {
    comments,
    events,
    retries,
    /** Reads until `done()` holds; false if the stream ended first. */
    async until(done: () => boolean): Promise<boolean> {
      while (!done()) {
        const chunk = await reader.read();
        if (chunk.done) return false;
        buffer += chunk.value;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          parse(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
      }
      return true;
    },
    async ended(): Promise<boolean> {
      for (;;) {
        const chunk = await reader.read();
        if (chunk.done) return true;
      }
    },
    cancel: () => reader.cancel(),
  };
}

let app: HttpApp;
let baseUrl: string;
let opened: EventStream[];
let closedStreams: EventStream[];

beforeEach(async () => {
  opened = [];
  closedStreams = [];
  app = await createHttpApp({
    service: 'bff',
    version: '0',
    logger: pino({ level: 'silent' }),
    // fetch (undici) may open a spare connection that never sends a request.
    shutdownGraceMs: 100,
  });
  app.get(
    '/bookings/:bookingId/events',
    { schema: { params: Type.Object({ bookingId: Type.String() }) } },
    (request, reply) => {
      const stream = openEventStream(request, reply, { heartbeatMs: 40, retryMs: 1500 });
      stream.onClose(() => closedStreams.push(stream));
      opened.push(stream);
      const { bookingId } = request.params;
      stream.send({
        event: 'hello',
        data: JSON.stringify({ bookingId, after: stream.lastEventId }),
      });
    },
  );
  baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });
});

afterEach(async () => {
  await app.close();
});

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('openEventStream', () => {
  it('streams with SSE headers, exposes Last-Event-ID, sends heartbeats and events', async () => {
    const response = await fetch(`${baseUrl}/bookings/o-1/events`, {
      headers: { 'last-event-id': 'booking-1:41', 'x-request-id': 'req-sse-1' },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('no-cache, no-transform');
    expect(response.headers.get('x-accel-buffering')).toBe('no');
    expect(response.headers.get('x-request-id')).toBe('req-sse-1');
    const stream = sseReader(response.body!);

    expect(await stream.until(() => stream.events.length >= 1)).toBe(true);
    expect(stream.events[0]).toEqual({
      event: 'hello',
      data: JSON.stringify({ bookingId: 'o-1', after: 'booking-1:41' }),
    });

    expect(stream.retries).toEqual(['1500']);
    expect(await stream.until(() => stream.comments.includes('heartbeat'))).toBe(true);

    const server = opened[0]!;
    expect(server.send({ id: '42', event: 'step', data: 'line one\nline two' })).toBe(true);
    expect(server.send({ id: '43', data: '{"status":2}' })).toBe(true);
    expect(await stream.until(() => stream.events.length >= 3)).toBe(true);
    expect(stream.events.slice(1)).toEqual([
      { id: '42', event: 'step', data: 'line one\nline two' },
      { id: '43', data: '{"status":2}' },
    ]);
    await stream.cancel();
  });

  it('sends an event encoded once on every stream, intact', async () => {
    const readers = await Promise.all(
      ['o-1', 'o-2'].map(async (bookingId) => {
        const response = await fetch(`${baseUrl}/bookings/${bookingId}/events`);
        const reader = sseReader(response.body!);
        await reader.until(() => reader.events.length >= 1);
        return reader;
      }),
    );
    const encoded = encodeServerSentEvent({ id: '7', event: 'step', data: 'é\nline two' });
    expect(encoded.frame.toString('utf8')).toBe('id: 7\nevent: step\ndata: é\ndata: line two\n\n');
    for (const stream of opened) expect(stream.send(encoded)).toBe(true);
    for (const reader of readers) {
      expect(await reader.until(() => reader.events.length >= 2)).toBe(true);
      expect(reader.events[1]).toEqual({ id: '7', event: 'step', data: 'é\nline two' });
      await reader.cancel();
    }
    expect(() => encodeServerSentEvent({ id: '1\n', data: '' })).toThrow(TypeError);
  });

  it('works on an app not built by createHttpApp: heartbeats, then closes', async () => {
    const plain = Fastify();
    let stream: EventStream | undefined;
    plain.get('/events', (request, reply) => {
      stream = openEventStream(request, reply, { heartbeatMs: 40 });
    });
    const url = await plain.listen({ host: '127.0.0.1', port: 0 });
    try {
      const response = await fetch(`${url}/events`);
      const reader = sseReader(response.body!);
      expect(await reader.until(() => reader.comments.includes('heartbeat'))).toBe(true);
      stream!.close();
      expect(await reader.ended()).toBe(true);
    } finally {
      await plain.close();
    }
  });

  it('leaves lastEventId undefined on a first connection', async () => {
    const response = await fetch(`${baseUrl}/bookings/o-1/events`);
    const stream = sseReader(response.body!);
    await stream.until(() => stream.events.length >= 1);
    expect(stream.events[0]?.data).toBe('{"bookingId":"o-1"}');
    expect(opened[0]?.lastEventId).toBeUndefined();
    await stream.cancel();
  });

  it('closes on client disconnect: onClose runs and send returns false', async () => {
    const controller = new AbortController();
    const response = await fetch(`${baseUrl}/bookings/o-1/events`, { signal: controller.signal });
    const stream = sseReader(response.body!);
    await stream.until(() => stream.events.length >= 1);
    const server = opened[0]!;
    expect(server.closed).toBe(false);

    controller.abort();
    await waitFor(() => closedStreams.includes(server));
    expect(server.closed).toBe(true);
    expect(server.send({ data: 'too late' })).toBe(false);
    let lateListener = false;
    server.onClose(() => (lateListener = true));
    expect(lateListener).toBe(true);
  });

  it('close() ends the response for the client', async () => {
    const response = await fetch(`${baseUrl}/bookings/o-1/events`);
    const stream = sseReader(response.body!);
    await stream.until(() => stream.events.length >= 1);
    opened[0]!.close();
    expect(await stream.ended()).toBe(true);
    expect(closedStreams).toEqual([opened[0]]);
  });

  it('is closed by app.close(), so open streams do not hold up shutdown', async () => {
    const response = await fetch(`${baseUrl}/bookings/o-1/events`);
    const stream = sseReader(response.body!);
    await stream.until(() => stream.events.length >= 1);
    await app.close();
    expect(await stream.ended()).toBe(true);
    expect(opened[0]?.closed).toBe(true);
  });

  it('closes the stream of a client that stopped reading', async () => {
    const socket = connect(Number(new URL(baseUrl).port), '127.0.0.1');
    await once(socket, 'connect');
    socket.write('GET /bookings/o-1/events HTTP/1.1\r\nHost: localhost\r\n\r\n');
    await waitFor(() => opened.length === 1);
    socket.pause();
    const server = opened[0]!;
    // Fill the socket buffers on both sides so writes stay queued in the process.
    const chunk = 'x'.repeat(1024 * 1024);
    for (let i = 0; i < 64 && server.send({ data: chunk }); i += 1);
    await waitFor(() => server.closed);
    expect(closedStreams).toContain(server);
    socket.destroy();
  });
});
