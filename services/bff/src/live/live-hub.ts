import type { TimelineEntry } from '@cads/order/contracts';
import { sagaMessage, type SagaMessage } from './encoded-message.ts';
import type { OrderWatch } from './order-watch.ts';

export interface LiveHubOptions {
  /**
   * How long this instance remembers the events it received, for connections that open just
   * after (between 1 and 2 periods). Default 10 000.
   */
  readonly recentMs?: number;
}

/**
 * This instance's open live connections, by order. Every instance receives every saga event
 * (a broadcast subscription) and hands it to the watches of its order here.
 *
 * It also remembers the last seconds of events: a connection opening just after an event
 * reached the BFF, but before the order service recorded it, would otherwise find it neither
 * in the order's state nor among the live events. A new watch gets them first (it drops what
 * the state already holds).
 */
export class LiveHub {
  readonly #byOrder = new Map<string, Set<OrderWatch>>();
  #count = 0;
  /** Two generations of recent events by order; the older one is dropped every period. */
  #recent = new Map<string, SagaMessage[]>();
  #previous = new Map<string, SagaMessage[]>();
  readonly #rotation: NodeJS.Timeout;

  constructor(options: LiveHubOptions = {}) {
    this.#rotation = setInterval(() => {
      this.#previous = this.#recent;
      this.#recent = new Map();
    }, options.recentMs ?? 10_000);
    this.#rotation.unref();
  }

  /** Connections open on this instance. */
  get size(): number {
    return this.#count;
  }

  /** From now on, events of the watch's order reach it. */
  add(watch: OrderWatch): void {
    let watches = this.#byOrder.get(watch.orderId);
    if (!watches) {
      watches = new Set();
      this.#byOrder.set(watch.orderId, watches);
    }
    if (!watches.has(watch)) {
      watches.add(watch);
      this.#count++;
    }
    for (const event of this.#previous.get(watch.orderId) ?? []) watch.deliver(event);
    for (const event of this.#recent.get(watch.orderId) ?? []) watch.deliver(event);
  }

  remove(watch: OrderWatch): void {
    const watches = this.#byOrder.get(watch.orderId);
    if (!watches?.delete(watch)) return;
    this.#count--;
    if (watches.size === 0) this.#byOrder.delete(watch.orderId);
  }

  /**
   * Hands `event` to every watch of `orderId`. The event is serialised once per transport for
   * all of them, and written in this call (no queue) to each connection whose state was sent;
   * the others hold it until then. Each watch reports what it actually wrote (`OnSent`).
   */
  publish(orderId: string, event: TimelineEntry): void {
    const saga = sagaMessage(event);
    const recent = this.#recent.get(orderId);
    if (recent) recent.push(saga);
    else this.#recent.set(orderId, [saga]);
    for (const watch of this.#byOrder.get(orderId) ?? []) watch.deliver(saga);
  }

  /** Stops remembering (on shutdown). */
  dispose(): void {
    clearInterval(this.#rotation);
    this.#recent.clear();
    this.#previous.clear();
  }

  /** Closes every connection (on shutdown); clients reconnect to another instance. */
  closeAll(): void {
    for (const watches of [...this.#byOrder.values()]) {
      for (const watch of [...watches]) watch.close();
    }
  }
}
