import { type EncodedServerSentEvent, encodeServerSentEvent } from '@cads/http';
import type { TimelineEntry } from '@cads/order/contracts';
import type { LiveMessage } from '../contracts/live.ts';

/**
 * A live message, serialised at most once per transport however many connections it goes to:
 * a saga event watched by thousands of tabs costs one `JSON.stringify`, not thousands. The
 * encodings are made on first use and are immutable (every connection writes the same bytes).
 */
export class EncodedLiveMessage<M extends LiveMessage = LiveMessage> {
  readonly message: M;
  /** The SSE event id: what the client sends back as `Last-Event-ID` when it reconnects. */
  readonly id: string | undefined;
  #sse: EncodedServerSentEvent | undefined;
  #wsFrame: Buffer | undefined;

  constructor(message: M, id: string | undefined) {
    this.message = message;
    this.id = id;
  }

  /** `event:` the message type, `id:`, `data:` the payload's JSON (see `contracts/live.ts`). */
  get sse(): EncodedServerSentEvent {
    this.#sse ??= encodeServerSentEvent({
      event: this.message.type,
      ...(this.id === undefined ? {} : { id: this.id }),
      data: JSON.stringify(payloadOf(this.message)),
    });
    return this.#sse;
  }

  /** The `LiveMessage` JSON as one whole WebSocket text frame, as a server sends it. */
  get wsFrame(): Buffer {
    this.#wsFrame ??= textFrame(Buffer.from(JSON.stringify(this.message), 'utf8'));
    return this.#wsFrame;
  }
}

export type SagaMessage = EncodedLiveMessage<Extract<LiveMessage, { type: 'saga' }>>;

/** The `saga` message of one event, its id the event's. */
export function sagaMessage(event: TimelineEntry): SagaMessage {
  return new EncodedLiveMessage({ type: 'saga', event }, event.id);
}

/** One unfragmented, unmasked text frame holding `payload` (RFC 6455 §5.2). */
export function textFrame(payload: Buffer): Buffer {
  const { length } = payload;
  const headerBytes = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(headerBytes + length);
  // FIN, opcode 1 (text).
  frame[0] = 0x81;
  if (length < 126) {
    frame[1] = length;
  } else if (length < 65_536) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  payload.copy(frame, headerBytes);
  return frame;
}

function payloadOf(message: LiveMessage): unknown {
  switch (message.type) {
    case 'snapshot':
      return message.order;
    case 'saga':
      return message.event;
    case 'error':
      return { code: message.code, detail: message.detail };
  }
}
