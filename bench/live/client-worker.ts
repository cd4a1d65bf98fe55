/**
 * A client worker of the live benchmark: a child process holding a share of the connections
 * (a process may open only so many files), commanded by the benchmark over IPC
 * (`protocol.ts`).
 *
 * The clients are bare TCP sockets speaking just enough HTTP/1.1, SSE and WebSocket (RFC 6455:
 * handshake, unmasked server frames, masked pongs) for these streams, reading into one buffer
 * shared by every socket of the worker (`onread`): no HTTP or WebSocket library between the
 * socket and the measurement. The load generator then costs a fraction of what the server
 * does per message, so on a machine of two cores it does not decide the figures, and a
 * connection costs it a socket and a few fields. Receipts are timed on arrival, before parsing.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import {
  type ConnectionGroup,
  monotonicMs,
  type WorkerCommand,
  type WorkerReport,
} from './protocol.ts';

interface Connection {
  /** Saga events received. */
  received: number;
  /** Closed by us: not counted as dropped. */
  closing: boolean;
  readonly socket: Socket;
}

/** Every socket of this worker reads into this buffer; a read is handled before the next. */
const readBuffer = Buffer.allocUnsafe(256 * 1024);
const connections = new Set<Connection>();
let latencies: number[] = [];
let received = 0;
let dropped = 0;
let expected = 0;
/** Open connections with `expected` saga events or more (counted, not scanned, per receipt). */
let reachedCount = 0;
let reachedSent = false;

function report(message: WorkerReport): void {
  process.send?.(message);
}

function checkReached(): void {
  if (expected === 0 || reachedSent || reachedCount < connections.size) return;
  reachedSent = true;
  report({ kind: 'reached' });
}

const sentAtField = '"benchSentAtMs":';

/** One saga event on `connection`, received at `at`; `text` holds its JSON. */
function onSaga(connection: Connection, at: number, text: string): void {
  connection.received += 1;
  received += 1;
  const field = text.indexOf(sentAtField);
  if (field !== -1 && text.includes('"benchMeasured":true')) {
    latencies.push(at - Number.parseFloat(text.slice(field + sentAtField.length)));
  }
  if (expected > 0 && connection.received === expected) {
    reachedCount += 1;
    checkReached();
  }
}

interface Target {
  readonly host: string;
  readonly port: number;
  readonly path: string;
  readonly cookie: string;
}

/**
 * Connects, sends `request`, and hands every read (as `data`, valid until `read` returns) to
 * `read` with its arrival time. Resolves once `read` calls `opened`, rejects on a failure
 * before that; afterwards the connection counts as dropped if it closes unasked.
 */
function openConnection(
  target: Target,
  request: string,
  timeoutMs: number,
  read: (
    connection: Connection,
    at: number,
    data: Buffer,
    opened: () => void,
    fail: (reason: string) => void,
  ) => void,
): Promise<Connection> {
  return new Promise((resolve, reject) => {
    let open = false;
    const fail = (reason: string) => {
      if (!open) reject(new Error(reason));
      socket.destroy();
    };
    const opened = () => {
      if (open) return;
      open = true;
      clearTimeout(timer);
      resolve(connection);
    };
    const socket = connect({
      host: target.host,
      port: target.port,
      noDelay: true,
      onread: {
        buffer: readBuffer,
        callback(bytes: number, buffer: Uint8Array) {
          const at = monotonicMs();
          read(connection, at, Buffer.from(buffer.buffer, buffer.byteOffset, bytes), opened, fail);
          return true;
        },
      },
    });
    const connection: Connection = { received: 0, closing: false, socket };
    const timer = setTimeout(() => fail(`no snapshot after ${timeoutMs} ms`), timeoutMs);
    socket.on('connect', () => socket.write(request));
    socket.on('error', (error) => {
      if (!open) reject(error);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      if (!open) reject(new Error('closed before its snapshot'));
      else if (!connection.closing) dropped += 1;
      if (connections.delete(connection) && expected > 0 && connection.received >= expected) {
        reachedCount -= 1;
      }
      checkReached();
    });
  });
}

function requestLine(target: Target, extra: string): string {
  return (
    `GET ${target.path} HTTP/1.1\r\nHost: ${target.host}:${target.port}\r\n` +
    `Cookie: ${target.cookie}\r\n${extra}\r\n`
  );
}

/**
 * SSE over a chunked response. Frames end with a blank line; chunk-size lines fall between
 * frames (the server writes each frame as one chunk), so splitting on blank lines and looking
 * at the `event:` field is enough. Text is decoded as latin1: only ASCII is looked at.
 */
function openSse(target: Target, timeoutMs: number): Promise<Connection> {
  let carry = '';
  let statusChecked = false;
  return openConnection(
    target,
    requestLine(target, 'Accept: text/event-stream\r\n'),
    timeoutMs,
    (connection, at, data, opened, fail) => {
      carry += data.toString('latin1');
      if (!statusChecked && carry.length >= 12) {
        statusChecked = true;
        if (!carry.startsWith('HTTP/1.1 200')) return fail(`GET events: ${carry.slice(9, 12)}`);
      }
      for (let end = carry.indexOf('\n\n'); end !== -1; end = carry.indexOf('\n\n')) {
        const frame = carry.slice(0, end);
        carry = carry.slice(end + 2);
        if (frame.includes('event: saga\n')) onSaga(connection, at, frame);
        else if (frame.includes('event: snapshot\n')) opened();
        else if (frame.includes('event: error\n')) fail(`error event: ${frame.slice(0, 200)}`);
      }
    },
  );
}

/** A masked (client → server) pong echoing `payload` (at most 125 bytes, as pings are). */
function pongFrame(payload: Buffer): Buffer {
  // A zero mask key leaves the payload as it is.
  return Buffer.concat([Buffer.from([0x8a, 0x80 | payload.length, 0, 0, 0, 0]), payload]);
}

/** WebSocket: the upgrade, then frames, possibly split across reads. */
function openWs(target: Target, timeoutMs: number): Promise<Connection> {
  let carry: Buffer | undefined;
  let upgraded = false;
  const key = randomBytes(16).toString('base64');
  return openConnection(
    target,
    requestLine(
      target,
      `Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${key}\r\n`,
    ),
    timeoutMs,
    (connection, at, read, opened, fail) => {
      const data = carry ? Buffer.concat([carry, read]) : read;
      carry = undefined;
      let offset = 0;
      if (!upgraded) {
        const headersEnd = data.indexOf('\r\n\r\n');
        if (headersEnd === -1) {
          carry = Buffer.from(data);
          return;
        }
        if (data.toString('latin1', 0, 12) !== 'HTTP/1.1 101') {
          return fail(`GET ws: ${data.toString('latin1', 9, 12)}`);
        }
        upgraded = true;
        offset = headersEnd + 4;
      }
      while (offset + 2 <= data.length) {
        let length = data[offset + 1]! & 0x7f;
        let headerBytes = 2;
        if (length === 126) {
          if (offset + 4 > data.length) break;
          length = data.readUInt16BE(offset + 2);
          headerBytes = 4;
        } else if (length === 127) {
          if (offset + 10 > data.length) break;
          length = Number(data.readBigUInt64BE(offset + 2));
          headerBytes = 10;
        }
        const start = offset + headerBytes;
        const end = start + length;
        if (end > data.length) break;
        const opcode = data[offset]! & 0x0f;
        if (opcode === 1) {
          const head = data.toString('latin1', start, Math.min(end, start + 24));
          if (head.startsWith('{"type":"saga"'))
            onSaga(connection, at, data.toString('latin1', start, end));
          else if (head.startsWith('{"type":"snapshot"')) opened();
          else return fail(`message ${data.toString('utf8', start, Math.min(end, start + 200))}`);
        } else if (opcode === 9) {
          connection.socket.write(pongFrame(data.subarray(start, end)));
        } else if (opcode === 8) {
          return fail('closed by the server');
        }
        offset = end;
      }
      // The read buffer is shared: what is left of a frame is copied.
      if (offset < data.length) carry = Buffer.from(data.subarray(offset));
    },
  );
}

async function openAll(command: Extract<WorkerCommand, { kind: 'open' }>): Promise<void> {
  const open = command.transport === 'ws' ? openWs : openSse;
  const { hostname, port } = new URL(command.bffUrl);
  const suffix = command.transport === 'ws' ? 'ws' : 'events';
  const queue = command.groups.flatMap((group) => Array<ConnectionGroup>(group.count).fill(group));
  let next = 0;
  let failed = 0;
  let firstError: string | undefined;
  const lane = async () => {
    for (let index = next++; index < queue.length; index = next++) {
      try {
        const group = queue[index]!;
        const target = {
          host: hostname,
          port: Number(port),
          path: `/api/orders/${group.orderId}/${suffix}`,
          cookie: group.cookie,
        };
        connections.add(await open(target, command.timeoutMs));
      } catch (error) {
        failed += 1;
        firstError ??= error instanceof Error ? error.message : String(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, command.concurrency) }, lane));
  report({ kind: 'opened', opened: connections.size, failed, firstError });
}

function collect(): void {
  report({
    kind: 'collected',
    latenciesMs: latencies,
    received,
    connections: connections.size,
    droppedConnections: dropped,
  });
  latencies = [];
}

function closeAll(): void {
  for (const connection of [...connections]) {
    connection.closing = true;
    connection.socket.destroy();
  }
  connections.clear();
  latencies = [];
  received = 0;
  dropped = 0;
  expected = 0;
  reachedCount = 0;
  report({ kind: 'closed' });
}

process.on('message', (command: WorkerCommand) => {
  switch (command.kind) {
    case 'open':
      void openAll(command);
      break;
    case 'expect':
      expected = command.count;
      reachedSent = false;
      reachedCount = 0;
      for (const connection of connections) if (connection.received >= expected) reachedCount += 1;
      checkReached();
      break;
    case 'collect':
      collect();
      break;
    case 'close':
      closeAll();
      break;
  }
});
// The benchmark is gone (finished or crashed): nothing left to measure for.
process.on('disconnect', () => process.exit(0));
// Ctrl-C reaches the whole process group; the benchmark decides when workers end.
process.on('SIGINT', () => undefined);
