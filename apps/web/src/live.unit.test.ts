import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  chooseTransport,
  liveSocketUrl,
  reconnectDelayMs,
  type LiveHandlers,
  type LiveStatus,
} from './live.ts';
import { connectSse } from './live-sse.ts';
import { connectWs } from './live-ws.ts';

const entry = { id: 'e2', type: 'restaurant_reserved', time: '2025-01-01T12:00:01Z', data: {} };
const order = {
  orderId: 'o1',
  userId: 'u1',
  restaurantId: 'r1',
  cart: [{ itemId: 'p01', amount: 1 }],
  status: 0,
  statusText: 'created',
  priceCents: 950,
  createdAt: '2025-01-01T12:00:00Z',
  compensated: [],
  timeline: [{ ...entry, id: 'e1', type: 'order_created' }],
};

function recorder(): LiveHandlers & { messages: unknown[]; statuses: LiveStatus[] } {
  const messages: unknown[] = [];
  const statuses: LiveStatus[] = [];
  return {
    messages,
    statuses,
    onMessage: (message) => messages.push(message),
    onStatus: (status) => statuses.push(status),
  };
}

class FakeEventSource extends EventTarget {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSED = 2;
  static instances: FakeEventSource[] = [];
  readyState = FakeEventSource.CONNECTING;
  readonly url: string;
  constructor(url: string) {
    super();
    this.url = url;
    FakeEventSource.instances.push(this);
  }
  close(): void {
    this.readyState = FakeEventSource.CLOSED;
  }
  open(): void {
    this.readyState = FakeEventSource.OPEN;
    this.dispatchEvent(new Event('open'));
  }
  send(type: string, data: unknown): void {
    this.dispatchEvent(new MessageEvent(type, { data: JSON.stringify(data) }));
  }
  fail(readyState: number): void {
    this.readyState = readyState;
    this.dispatchEvent(new Event('error'));
  }
}

class FakeWebSocket extends EventTarget {
  static instances: FakeWebSocket[] = [];
  closedWith: number | undefined;
  readonly url: string;
  constructor(url: string) {
    super();
    this.url = url;
    FakeWebSocket.instances.push(this);
  }
  close(code?: number): void {
    this.closedWith = code;
  }
  open(): void {
    this.dispatchEvent(new Event('open'));
  }
  receive(message: unknown): void {
    this.dispatchEvent(new MessageEvent('message', { data: JSON.stringify(message) }));
  }
  serverClose(code: number): void {
    this.dispatchEvent(Object.assign(new Event('close'), { code }));
  }
}

const latest = <T>(instances: T[]): T => {
  const instance = instances.at(-1);
  if (!instance) throw new Error('no connection was opened');
  return instance;
};

beforeEach(() => {
  vi.useFakeTimers();
  FakeEventSource.instances = [];
  FakeWebSocket.instances = [];
});

afterEach(() => {
  vi.useRealTimers();
});

describe('live helpers', () => {
  it('backs off from 0.5 s, doubling, to at most 5 s', () => {
    expect([0, 1, 2, 3, 4, 5, 10].map(reconnectDelayMs)).toEqual([
      500, 1000, 2000, 4000, 5000, 5000, 5000,
    ]);
  });

  it('lets ?transport= override the configured transport', () => {
    expect(chooseTransport('sse', '')).toBe('sse');
    expect(chooseTransport('sse', '?transport=ws')).toBe('ws');
    expect(chooseTransport('ws', '?x=1&transport=sse')).toBe('sse');
    expect(chooseTransport('ws', '?transport=carrier-pigeon')).toBe('ws');
  });

  it('opens the socket on the page’s host, secure under https', () => {
    expect(liveSocketUrl('o 1', { protocol: 'http:', host: 'localhost:3000' })).toBe(
      'ws://localhost:3000/api/orders/o%201/ws',
    );
    expect(liveSocketUrl('o1', { protocol: 'https:', host: 'eats.example' })).toBe(
      'wss://eats.example/api/orders/o1/ws',
    );
  });
});

describe('connectSse', () => {
  const connect = (handlers: LiveHandlers, exists: boolean | undefined = true) =>
    connectSse('o/1', handlers, {
      EventSource: FakeEventSource as unknown as typeof EventSource,
      orderExists: () => Promise.resolve(exists),
    });

  it('delivers the snapshot and saga events of the order’s stream', () => {
    const handlers = recorder();
    connect(handlers);
    const source = latest(FakeEventSource.instances);
    expect(source.url).toBe('/api/orders/o%2F1/events');
    source.open();
    source.send('snapshot', order);
    source.send('saga', entry);
    source.send('saga', { not: 'an event' });
    expect(handlers.statuses).toEqual(['connecting', 'open']);
    expect(handlers.messages).toEqual([
      { type: 'snapshot', order },
      { type: 'saga', event: entry },
    ]);
  });

  it('leaves a dropped stream to the browser’s own reconnection', () => {
    const handlers = recorder();
    connect(handlers);
    latest(FakeEventSource.instances).fail(FakeEventSource.CONNECTING);
    expect(handlers.statuses).toEqual(['connecting', 'reconnecting']);
    vi.advanceTimersByTime(10_000);
    expect(FakeEventSource.instances).toHaveLength(1);
  });

  it('opens a new stream with backoff when the browser gives up', async () => {
    const handlers = recorder();
    connect(handlers);
    latest(FakeEventSource.instances).fail(FakeEventSource.CLOSED);
    await vi.advanceTimersByTimeAsync(499);
    expect(FakeEventSource.instances).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(FakeEventSource.instances).toHaveLength(2);
    latest(FakeEventSource.instances).fail(FakeEventSource.CLOSED);
    await vi.advanceTimersByTimeAsync(999);
    expect(FakeEventSource.instances).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(FakeEventSource.instances).toHaveLength(3);
    latest(FakeEventSource.instances).open();
    expect(handlers.statuses.at(-1)).toBe('open');
  });

  it('stops when the order does not exist', async () => {
    const handlers = recorder();
    connect(handlers, false);
    latest(FakeEventSource.instances).fail(FakeEventSource.CLOSED);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(handlers.statuses.at(-1)).toBe('not-found');
    expect(FakeEventSource.instances).toHaveLength(1);
  });

  it('calls nothing and reconnects never after close()', async () => {
    const handlers = recorder();
    const connection = connect(handlers);
    const source = latest(FakeEventSource.instances);
    source.fail(FakeEventSource.CLOSED);
    connection.close();
    connection.close();
    source.send('saga', entry);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(FakeEventSource.instances).toHaveLength(1);
    expect(handlers.messages).toEqual([]);
  });
});

describe('connectWs', () => {
  const connect = (handlers: LiveHandlers) =>
    connectWs('o1', handlers, {
      WebSocket: FakeWebSocket as unknown as typeof WebSocket,
      location: { protocol: 'http:', host: 'localhost:3000' },
    });

  it('delivers the messages of the socket', () => {
    const handlers = recorder();
    connect(handlers);
    const socket = latest(FakeWebSocket.instances);
    expect(socket.url).toBe('ws://localhost:3000/api/orders/o1/ws');
    socket.open();
    socket.receive({ type: 'snapshot', order });
    socket.receive({ type: 'saga', event: entry });
    socket.receive({ type: 'unknown' });
    expect(handlers.statuses).toEqual(['connecting', 'open']);
    expect(handlers.messages).toEqual([
      { type: 'snapshot', order },
      { type: 'saga', event: entry },
    ]);
  });

  it('reconnects with backoff after an unexpected close, and resets it once open', () => {
    const handlers = recorder();
    connect(handlers);
    latest(FakeWebSocket.instances).serverClose(1006);
    expect(handlers.statuses.at(-1)).toBe('reconnecting');
    vi.advanceTimersByTime(500);
    expect(FakeWebSocket.instances).toHaveLength(2);
    latest(FakeWebSocket.instances).serverClose(1006);
    vi.advanceTimersByTime(999);
    expect(FakeWebSocket.instances).toHaveLength(2);
    vi.advanceTimersByTime(1);
    expect(FakeWebSocket.instances).toHaveLength(3);
    latest(FakeWebSocket.instances).open();
    latest(FakeWebSocket.instances).serverClose(1001);
    vi.advanceTimersByTime(500);
    expect(FakeWebSocket.instances).toHaveLength(4);
  });

  it('stops on close code 4404: the order is missing or someone else’s', () => {
    const handlers = recorder();
    connect(handlers);
    const socket = latest(FakeWebSocket.instances);
    socket.receive({ type: 'error', code: 'ORDER_NOT_FOUND', detail: 'no such order' });
    socket.serverClose(4404);
    vi.advanceTimersByTime(10_000);
    expect(handlers.statuses.at(-1)).toBe('not-found');
    expect(FakeWebSocket.instances).toHaveLength(1);
  });

  it('closes normally on close() and never reconnects', () => {
    const handlers = recorder();
    const connection = connect(handlers);
    const socket = latest(FakeWebSocket.instances);
    socket.open();
    connection.close();
    expect(socket.closedWith).toBe(1000);
    socket.serverClose(1000);
    vi.advanceTimersByTime(10_000);
    expect(FakeWebSocket.instances).toHaveLength(1);
    expect(handlers.statuses).toEqual(['connecting', 'open']);
  });
});
