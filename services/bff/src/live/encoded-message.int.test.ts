import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { TimelineEntry } from '@cads/order/contracts';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { EncodedLiveMessage, sagaMessage, textFrame } from './encoded-message.ts';

interface Received {
  readonly text: string;
  readonly binary: boolean;
}

/**
 * What a real WebSocket client (ws) makes of `frames`: a bare TCP server accepts its handshake,
 * writes the frames as they are, then closes.
 */
async function receive(...frames: Buffer[]): Promise<Received[]> {
  const server = createServer((socket) => {
    socket.once('data', (request: Buffer) => {
      const key = /sec-websocket-key: (\S+)/i.exec(request.toString('latin1'))?.[1] ?? '';
      const accept = createHash('sha1')
        .update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
        .digest('base64');
      socket.write(
        'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          `Sec-WebSocket-Accept: ${accept}\r\n\r\n`,
      );
      for (const frame of frames) socket.write(frame);
      socket.end(Buffer.from([0x88, 0x00]));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const client = new WebSocket(`ws://127.0.0.1:${port}`, { maxPayload: 0 });
  const messages: Received[] = [];
  client.on('message', (data: Buffer, binary: boolean) =>
    messages.push({ text: data.toString('utf8'), binary }),
  );
  await once(client, 'close');
  server.close();
  return messages;
}

const event: TimelineEntry = {
  id: '0190c1a2-0000-7000-8000-000000000001',
  type: 'restaurant_reserved',
  time: '2026-01-02T03:04:05.678Z',
  data: { orderId: 'o-1', note: 'two\nlines, ünïcode' },
};

describe('textFrame', () => {
  it('makes text frames a client reads back, whatever their length encoding', async () => {
    const lengths = [0, 125, 126, 65_535, 65_536, 70_000];
    const payloads = lengths.map((length) => Buffer.alloc(length, 'x'));
    expect(await receive(...payloads.map(textFrame))).toEqual(
      payloads.map((payload) => ({ text: payload.toString('utf8'), binary: false })),
    );
  });
});

describe('EncodedLiveMessage', () => {
  it('encodes a saga event once per transport, in the wire forms of contracts/live.ts', async () => {
    const saga = sagaMessage(event);
    expect(saga.id).toBe(event.id);
    expect(saga.sse.frame.toString('utf8')).toBe(
      `id: ${event.id}\nevent: saga\ndata: ${JSON.stringify(event)}\n\n`,
    );
    expect(await receive(saga.wsFrame)).toEqual([
      { text: JSON.stringify({ type: 'saga', event }), binary: false },
    ]);
    // Every connection gets the very same bytes.
    expect(saga.sse).toBe(saga.sse);
    expect(saga.wsFrame).toBe(saga.wsFrame);
  });

  it('sends an error as its code and detail on SSE, the whole message on WebSocket', async () => {
    const error = new EncodedLiveMessage(
      { type: 'error', code: 'CADS_NOT_FOUND', detail: 'There is no order o-1.' },
      undefined,
    );
    expect(error.sse.frame.toString('utf8')).toBe(
      'event: error\ndata: {"code":"CADS_NOT_FOUND","detail":"There is no order o-1."}\n\n',
    );
    const [received] = await receive(error.wsFrame);
    expect(JSON.parse(received?.text ?? '')).toEqual(error.message);
  });
});
