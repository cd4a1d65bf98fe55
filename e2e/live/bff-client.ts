import type { LiveMessage, Session } from '@cads/bff/contracts';
import type { OrderView, TimelineEntry } from '@cads/order/contracts';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { WebSocket } from 'ws';

/**
 * A browser as the BFF sees it: one session cookie, sent on every request. `json` throws on an
 * unexpected status so tests read like the user's steps.
 */
export async function bffBrowser(bffUrl: string) {
  let cookie = '';
  const remember = (response: Response) => {
    const set = response.headers.getSetCookie().find((value) => value.startsWith('cads_session='));
    if (set) cookie = set.split(';')[0] ?? '';
  };
  const request = async (path: string, init: RequestInit = {}) => {
    const response = await fetch(`${bffUrl}${path}`, {
      ...init,
      headers: { ...(init.headers as Record<string, string>), ...(cookie ? { cookie } : {}) },
    });
    remember(response);
    return response;
  };
  const session = (await (await request('/api/session')).json()) as Session;
  return {
    session,
    get cookie() {
      return cookie;
    },
    set cookie(value: string) {
      cookie = value;
    },
    request,
    async json<T>(path: string, init: RequestInit = {}, status = 200): Promise<T> {
      const response = await request(path, init);
      const text = await response.text();
      if (response.status !== status) {
        throw new Error(`${init.method ?? 'GET'} ${path}: ${response.status} ${text}`);
      }
      return JSON.parse(text) as T;
    },
    async placeOrder(body: unknown): Promise<string> {
      const response = await request('/api/orders', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      const text = await response.text();
      if (response.status !== 202) throw new Error(`order refused: ${response.status} ${text}`);
      return (JSON.parse(text) as { orderId: string }).orderId;
    },
    /** Opens the order's SSE stream (optionally resuming after an event id). */
    sse(orderId: string, lastEventId?: string) {
      return openSse(`${bffUrl}/api/orders/${orderId}/events`, {
        ...(cookie ? { cookie } : {}),
        ...(lastEventId ? { 'last-event-id': lastEventId } : {}),
      });
    },
    ws(orderId: string) {
      return openWs(`${bffUrl.replace(/^http/, 'ws')}/api/orders/${orderId}/ws`, cookie);
    },
    /**
     * Asks for the order's WebSocket and drops the TCP connection `afterMs` later (0: at once),
     * as a closing tab does: reset (`'reset'`) or a plain close (`'close'`). Resolves once the
     * connection is closed.
     */
    dropWs(orderId: string, afterMs: number, how: 'reset' | 'close') {
      return dropWebSocketUpgrade(bffUrl, `/api/orders/${orderId}/ws`, cookie, afterMs, how);
    },
  };
}

function dropWebSocketUpgrade(
  bffUrl: string,
  path: string,
  cookie: string,
  afterMs: number,
  how: 'reset' | 'close',
): Promise<void> {
  const { hostname, port } = new URL(bffUrl);
  return new Promise<void>((resolve) => {
    const socket = connect(Number(port), hostname, () => {
      socket.write(
        [
          `GET ${path} HTTP/1.1`,
          `Host: ${hostname}:${port}`,
          'Connection: Upgrade',
          'Upgrade: websocket',
          'Sec-WebSocket-Version: 13',
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
          `Cookie: ${cookie}`,
          '',
          '',
        ].join('\r\n'),
      );
      const drop = () => (how === 'reset' ? socket.resetAndDestroy() : socket.destroy());
      if (afterMs === 0) drop();
      else setTimeout(drop, afterMs);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => resolve());
  });
}

export interface LiveReader {
  /** HTTP status of the stream request (SSE), or 101 (WebSocket). */
  readonly status: number;
  readonly messages: ReceivedMessage[];
  /** Resolves with the messages once `predicate` holds, or rejects after `timeoutMs`. */
  until(predicate: (messages: ReceivedMessage[]) => boolean, timeoutMs?: number): Promise<void>;
  readonly closed: Promise<{ code?: number }>;
  close(): void;
}

export interface ReceivedMessage {
  readonly message: LiveMessage;
  /** The SSE event id. */
  readonly id?: string;
}

function reader(close: () => void) {
  const messages: ReceivedMessage[] = [];
  const waiters = new Set<() => void>();
  return {
    messages,
    push(received: ReceivedMessage) {
      messages.push(received);
      for (const wake of waiters) wake();
    },
    until(predicate: (messages: ReceivedMessage[]) => boolean, timeoutMs = 20_000) {
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (!predicate(messages)) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`live messages never matched; got ${JSON.stringify(types(messages))}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close,
  };
}

/** `snapshot` or the saga event's type, in arrival order. */
export function types(messages: readonly ReceivedMessage[]): string[] {
  return messages.map(({ message }) =>
    message.type === 'saga' ? message.event.type : message.type,
  );
}

/** Every event id a stream has shown: the snapshot's timeline and the live events. */
export function eventsSeen(messages: readonly ReceivedMessage[]): TimelineEntry[] {
  return messages.flatMap(({ message }) =>
    message.type === 'snapshot'
      ? message.order.timeline
      : message.type === 'saga'
        ? [message.event]
        : [],
  );
}

async function openSse(url: string, headers: Record<string, string>): Promise<LiveReader> {
  const abort = new AbortController();
  const response = await fetch(url, { headers, signal: abort.signal });
  const live = reader(() => abort.abort());
  let resolveClosed: (value: { code?: number }) => void = () => undefined;
  const closed = new Promise<{ code?: number }>((resolve) => {
    resolveClosed = resolve;
  });
  if (response.status !== 200 || !response.body) {
    resolveClosed({});
    return { status: response.status, ...live, closed };
  }
  void (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const fields = parseFrame(frame);
          if (!fields.event || fields.data === undefined) continue;
          const data = JSON.parse(fields.data) as unknown;
          const message =
            fields.event === 'snapshot'
              ? ({ type: 'snapshot', order: data as OrderView } as const)
              : fields.event === 'saga'
                ? ({ type: 'saga', event: data as TimelineEntry } as const)
                : ({ type: 'error', ...(data as { code: string; detail: string }) } as const);
          live.push({ message, ...(fields.id ? { id: fields.id } : {}) });
        }
      }
    } catch {
      // aborted by the test
    } finally {
      resolveClosed({});
    }
  })();
  return { status: response.status, ...live, closed };
}

function parseFrame(frame: string): { id?: string; event?: string; data?: string } {
  const fields: { id?: string; event?: string; data?: string } = {};
  for (const line of frame.split('\n')) {
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const name = line.slice(0, colon);
    const value = line.slice(colon + 1).replace(/^ /, '');
    if (name === 'data')
      fields.data = fields.data === undefined ? value : `${fields.data}\n${value}`;
    else if (name === 'id' || name === 'event') fields[name] = value;
  }
  return fields;
}

async function openWs(url: string, cookie: string): Promise<LiveReader & { pings: number }> {
  const socket = new WebSocket(url, { headers: cookie ? { cookie } : {} });
  const live = reader(() => socket.close());
  let pings = 0;
  socket.on('ping', () => {
    pings++;
  });
  socket.on('message', (data: Buffer) => {
    live.push({ message: JSON.parse(data.toString('utf8')) as LiveMessage });
  });
  const closed = new Promise<{ code?: number }>((resolve) => {
    socket.on('close', (code: number) => resolve({ code }));
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return {
    status: 101,
    ...live,
    closed,
    get pings() {
      return pings;
    },
  };
}

/** The status a WebSocket handshake with `origin` gets (101 when it is upgraded). */
export function wsHandshakeStatus(
  bffUrl: string,
  orderId: string,
  cookie: string,
  origin: string,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${bffUrl.replace(/^http/, 'ws')}/api/orders/${orderId}/ws`, {
      headers: { cookie },
      origin,
    });
    // Upgraded: closed properly once open, and settled when closed, so nothing stays behind.
    socket.once('open', () => socket.close());
    socket.once('close', () => resolve(101));
    socket.once('unexpected-response', (_request, response) => {
      resolve(response.statusCode ?? 0);
      socket.terminate();
    });
    socket.once('error', reject);
  });
}

/** The status of `GET path`, sent as written (no `..` resolved, unlike fetch). */
export function rawGetStatus(bffUrl: string, path: string): Promise<number> {
  const { hostname, port } = new URL(bffUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => {
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nConnection: close\r\n\r\n`,
      );
    });
    let head = '';
    socket.on('data', (chunk: Buffer) => {
      head += chunk.toString('latin1');
      const match = /^HTTP\/1\.1 (\d{3})/.exec(head);
      if (match) {
        resolve(Number(match[1]));
        socket.destroy();
      }
    });
    socket.on('error', reject);
  });
}
