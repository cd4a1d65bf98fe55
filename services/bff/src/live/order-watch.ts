import type { OrderView, TimelineEntry } from '@cads/order/contracts';
import { EncodedLiveMessage, sagaMessage, type SagaMessage } from './encoded-message.ts';

/** Where a watch writes: one SSE stream or one WebSocket. */
export interface LiveSink {
  /**
   * Sends one message (its `id` is the event id an SSE client resumes from); false when nothing
   * was written because the connection is closing, closed or too slow.
   */
  send(message: EncodedLiveMessage): boolean;
  /** Closes the connection (the peer may reconnect). */
  close(): void;
}

/** The events one message written to a connection carried (a snapshot's timeline, or one). */
export type OnSent = (events: readonly TimelineEntry[]) => void;

/**
 * One open live connection to one order. Events published while its snapshot is being read are
 * held and sent after it, minus those the snapshot already holds, so a connection never misses
 * an event and never gets one twice.
 *
 * `onSent` hears of an event only once a message carrying it was written to an open
 * connection: not when it is handed to the watch (a held event of a connection that closes
 * before its snapshot was never shown), nor when the connection refused the write.
 */
export class OrderWatch {
  readonly orderId: string;
  readonly userId: string;
  readonly #onSent: OnSent;
  #sink: LiveSink | undefined;
  /** Events published before the snapshot was sent. */
  #held: SagaMessage[] | undefined = [];
  /** Ids already sent on this connection (an order has a handful of events). */
  #sent: string[] = [];
  #closed = false;

  constructor(orderId: string, userId: string, onSent: OnSent = () => undefined) {
    this.orderId = orderId;
    this.userId = userId;
    this.#onSent = onSent;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** A saga event of this order, as it happens (encoded once for every watch of the order). */
  deliver(saga: SagaMessage): void {
    if (this.#closed) return;
    if (this.#held) this.#held.push(saga);
    else this.#send(saga);
  }

  /**
   * Starts the stream on `sink`. The state is the order's, with the events held meanwhile
   * merged into its timeline (the order service may not have recorded them yet). Then, when
   * `resumeAfter` names an event of that timeline, only the events after it are sent; else
   * the state. Live events follow.
   */
  begin(sink: LiveSink, order: OrderView, resumeAfter: string | undefined): void {
    if (this.#closed) return;
    this.#sink = sink;
    const held = this.#held ?? [];
    const timeline = mergeTimeline(
      order.timeline,
      held.map((saga) => saga.message.event),
    );
    this.#held = undefined;
    const resumeIndex =
      resumeAfter === undefined ? -1 : timeline.findIndex((event) => event.id === resumeAfter);
    if (resumeIndex === -1) {
      const snapshot = new EncodedLiveMessage(
        { type: 'snapshot', order: { ...order, timeline } },
        timeline.at(-1)?.id,
      );
      if (sink.send(snapshot)) this.#onSent(timeline);
      for (const event of timeline) this.#sent.push(event.id);
    } else {
      for (const event of timeline.slice(0, resumeIndex + 1)) this.#sent.push(event.id);
      for (const event of timeline.slice(resumeIndex + 1)) {
        this.#send(held.find((saga) => saga.id === event.id) ?? sagaMessage(event));
      }
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#held = undefined;
    this.#sink?.close();
  }

  #send(saga: SagaMessage): void {
    const { event } = saga.message;
    if (this.#sent.includes(event.id)) return;
    this.#sent.push(event.id);
    if (this.#sink?.send(saga)) this.#onSent([event]);
  }
}

/** The timeline with the extra events it lacks (by id), sorted by time (stable). */
export function mergeTimeline(
  timeline: readonly TimelineEntry[],
  extra: readonly TimelineEntry[],
): TimelineEntry[] {
  const ids = new Set(timeline.map((event) => event.id));
  const missing = extra.filter((event) => !ids.has(event.id) && ids.add(event.id));
  if (missing.length === 0) return [...timeline];
  return [...timeline, ...missing].sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
}
