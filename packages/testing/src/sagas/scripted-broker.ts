import { randomUUID } from 'node:crypto';
import type {
  Broker,
  Delivery,
  DeliveryHandler,
  Message,
  Subscription,
  SubscriptionHandle,
} from '@cads/messaging';

/** One message waiting for one subscriber (a competing group, or one broadcast subscriber). */
export interface Queued {
  readonly subscriber: string;
  readonly message: Message;
  /** The delivery attempt it will be handed over as: 1, then one more per redelivery. */
  readonly attempt: number;
}

/** How the subscriber settled a delivery, from the broker's side. */
export type Settlement = 'acked' | 'retried' | 'rejected' | 'unsettled';

/** A delivery the subscriber refused for good (its consumer dead-lettered the message). */
export interface Rejected {
  readonly subscriber: string;
  readonly message: Message;
}

/**
 * A `Broker` that delivers nothing by itself: whoever drives it (the saga property kit) picks
 * which queued message is handed to its subscriber next, and may lose the ack of a delivery,
 * so a test decides the sequence and the faults, the same way on every run with the same choices.
 *
 * It keeps the port's promises that a service relies on: a message id is stored once (a
 * republish of a stored id is dropped), each subscriber gets each message of its types, and a
 * delivery that is retried or whose ack is lost comes back later with `attempt + 1`. It gives
 * no ordering promise at all: any queued message may go next, across types and keys, which is
 * more than a real broker reorders (a superset of what services must handle).
 *
 * A test double, not an adapter: it holds one member per group, a group gets only what is
 * published after it subscribed, `pending` counts only what is queued, and ids stay known
 * across `reset` (a stored id is never stored again). The kit subscribes every service before
 * a scenario publishes anything, so none of this shows there.
 */
export interface ScriptedBroker extends Broker {
  /** Every message published, in publish order, each id once. */
  readonly published: readonly Message[];
  /** What waits to be delivered, in arrival order (a redelivery goes to the end). */
  readonly queue: readonly Queued[];
  /** What subscribers rejected. */
  readonly rejected: readonly Rejected[];
  /**
   * Hands `queue[index]` to its subscriber and resolves, once it is settled, to how. With
   * `ackLost`, an ack does not reach the broker: the message is queued again, as after a crash
   * between the subscriber's commit and its ack. Resolves to `unsettled` when the subscriber
   * held it longer than `timeoutMs` (it is then queued again, as when a lease lapses).
   */
  deliver(
    index: number,
    options?: { readonly ackLost?: boolean; readonly timeoutMs?: number },
  ): Promise<Settlement>;
  /**
   * Queues `message` again under a new id for every subscriber of its type, as a producer that
   * emits the same business event twice would; resolves to the copy.
   */
  republish(message: Message): Message;
  /**
   * A new scenario: forgets what was published, rejected and is still queued (what a scenario
   * that never quiesced left behind must not leak into the next one).
   */
  reset(): void;
  /** The subscribers of `type`. */
  subscribersOf(type: string): readonly string[];
}

interface Subscriber {
  readonly name: string;
  readonly types: ReadonlySet<string>;
  readonly handler: DeliveryHandler;
}

export function createScriptedBroker(): ScriptedBroker {
  const subscribers = new Map<string, Subscriber>();
  const published: Message[] = [];
  const stored = new Set<string>();
  const queue: Queued[] = [];
  const rejected: Rejected[] = [];
  let broadcasts = 0;
  let closed = false;

  const enqueue = (message: Message) => {
    for (const subscriber of subscribers.values()) {
      if (subscriber.types.has(message.type)) {
        queue.push({ subscriber: subscriber.name, message, attempt: 1 });
      }
    }
  };

  return {
    published,
    queue,
    rejected,

    publish(messages) {
      if (closed) return Promise.reject(new Error('the scripted broker is closed'));
      for (const message of messages) {
        if (stored.has(message.id)) continue;
        stored.add(message.id);
        published.push(message);
        enqueue(message);
      }
      return Promise.resolve();
    },

    subscribe(subscription: Subscription, handler): Promise<SubscriptionHandle> {
      const name =
        subscription.mode === 'competing'
          ? subscription.group
          : `${subscription.group}#${++broadcasts}`;
      if (subscribers.has(name)) {
        return Promise.reject(new Error(`${name} already has a member: the kit runs one each`));
      }
      subscribers.set(name, { name, types: new Set(subscription.types), handler });
      return Promise.resolve({
        stop() {
          subscribers.delete(name);
          return Promise.resolve();
        },
      });
    },

    pending(group, types) {
      const wanted = new Set(types);
      return Promise.resolve(
        queue.filter((queued) => queued.subscriber === group && wanted.has(queued.message.type))
          .length,
      );
    },

    close() {
      closed = true;
      subscribers.clear();
      return Promise.resolve();
    },

    async deliver(index, { ackLost = false, timeoutMs = 15_000 } = {}) {
      const [queued] = queue.splice(index, 1);
      if (!queued) throw new RangeError(`nothing queued at ${index}`);
      const subscriber = subscribers.get(queued.subscriber);
      // A subscriber that left loses what was queued for it, as a stopped broadcast does.
      if (!subscriber) return 'acked';
      const again = () => queue.push({ ...queued, attempt: queued.attempt + 1 });
      let settle!: (settlement: Settlement) => void;
      const settled = new Promise<Settlement>((resolve) => (settle = resolve));
      let done = false;
      const once = (settlement: Settlement, effect: () => void) => {
        if (done) return Promise.resolve();
        done = true;
        effect();
        settle(settlement);
        return Promise.resolve();
      };
      const delivery: Delivery = {
        // What a subscriber gets from a real broker: the message as it was on the wire.
        body: JSON.parse(JSON.stringify(queued.message)) as unknown,
        attempt: queued.attempt,
        ack: () => once('acked', () => (ackLost ? again() : undefined)),
        retry: () => once('retried', again),
        reject: () =>
          once('rejected', () =>
            rejected.push({ subscriber: queued.subscriber, message: queued.message }),
          ),
        working: () => Promise.resolve(),
      };
      // The lease runs from the hand-over: a handler that never returns lapses too.
      let timer: NodeJS.Timeout | undefined;
      const lapsed = new Promise<Settlement>((resolve) => {
        timer = setTimeout(() => resolve('unsettled'), timeoutMs);
      });
      // The port: a handler that throws gets its delivery retried.
      Promise.resolve()
        .then(() => subscriber.handler(delivery))
        .catch(() => delivery.retry(0));
      const settlement = await Promise.race([settled, lapsed]);
      clearTimeout(timer);
      if (settlement === 'unsettled') void once('unsettled', again);
      return settlement;
    },

    republish(message) {
      const copy: Message = { ...message, id: randomUUID() };
      enqueue(copy);
      return copy;
    },

    reset() {
      queue.length = 0;
      published.length = 0;
      rejected.length = 0;
    },

    subscribersOf(type) {
      return [...subscribers.values()]
        .filter((subscriber) => subscriber.types.has(type))
        .map((subscriber) => subscriber.name);
    },
  };
}
