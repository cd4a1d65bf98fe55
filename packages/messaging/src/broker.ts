import type { Message } from './message.ts';

/**
 * The one port every service uses to exchange events. Adapters: `@cads/messaging-postgres`
 * (durable log on PGlite or PostgreSQL) and `@cads/messaging-nats` (JetStream). Each runs the
 * contract suite in `@cads/messaging/testing`.
 *
 * Delivery is **at-least-once**: a message may arrive more than once (after a crash, an ack
 * timeout or a retry), so consumers deduplicate by `message.id` (the consumer runtime's inbox
 * does). Routing is by `message.type`.
 */
export interface Broker {
  /**
   * Stores the messages durably, in array order. Resolves only when every message is stored;
   * if it rejects, some may be stored, so callers retry with the **same ids**: a message whose
   * id the broker has already stored (within its dedup window) is stored once.
   */
  publish(messages: readonly Message[]): Promise<void>;

  /**
   * Starts delivering messages of `subscription.types` to `handler`.
   *
   * - `competing`: the group is durable; each message is delivered to one member of the group
   *   at a time, the group's progress survives restarts, and a new group starts with the
   *   oldest message the broker still stores (so it also gets those published before it first
   *   subscribed).
   * - `broadcast`: each subscriber (each process) gets every message published after it
   *   subscribed; its state is dropped when it stops and expires if it dies.
   *
   * A delivery is leased to the subscriber for `ackTimeoutMs`: one that is neither settled nor
   * kept alive (`Delivery.working`) within that time is delivered again — which is how work
   * held by a process that died comes back. Resolves once the subscription is in place:
   * messages published after that are never missed.
   */
  subscribe(subscription: Subscription, handler: DeliveryHandler): Promise<SubscriptionHandle>;

  /**
   * How many messages of `types` the competing `group` has not settled yet: stored but not yet
   * delivered to it, in flight, or waiting for a retry (acked and rejected ones are done). A
   * group that does not exist yet counts every stored message of those types, which is what it
   * would receive first. Pass the types the group subscribes to; broadcast subscribers are not
   * counted this way.
   *
   * For metrics and operators: cheap (one query or a few API calls), but approximate while
   * messages are published or settled, and a settle may reach the broker after it resolved
   * (batched or unconfirmed), so the count can lag behind the handler by a moment.
   */
  pending(group: string, types: readonly string[]): Promise<number>;

  /** Stops every subscription and releases connections. Unsettled deliveries are redelivered later. */
  close(): Promise<void>;
}

export interface Subscription {
  /** Durable consumer name, e.g. `billing`. `[A-Za-z0-9_-]`. */
  readonly group: string;
  /** Event types to receive (routing keys). */
  readonly types: readonly string[];
  readonly mode: 'competing' | 'broadcast';
  /** Deliveries handed to the handler and not yet settled, at most. Default 64. */
  readonly maxInFlight?: number;
  /**
   * The lease of a delivery: redeliver it when it has been neither settled nor kept alive
   * (`Delivery.working`) for this long. Short leases bring a dead holder's work back quickly;
   * a holder that needs longer calls `working()` well within the lease. Default 30 000.
   */
  readonly ackTimeoutMs?: number;
}

/**
 * One delivery of one message. Exactly one of `ack`, `retry` or `reject` should be called;
 * later calls are ignored. Settling after the subscription stopped is allowed (that is how a
 * consumer drains), settling after `Broker.close` is not.
 */
export interface Delivery {
  /**
   * The decoded payload. Normally a CloudEvent, but it is whatever a producer put on the wire:
   * validate it (`parseMessage`) before trusting it.
   */
  readonly body: unknown;
  /** 1 on first delivery, incremented on every redelivery of the same message to the group. */
  readonly attempt: number;
  /** The message is done: it is never delivered to this group again. */
  ack(): Promise<void>;
  /** Deliver again, no sooner than `delayMs` from now, with `attempt + 1`. */
  retry(delayMs: number): Promise<void>;
  /** Never deliver again (the consumer has dead-lettered it). */
  reject(): Promise<void>;
  /**
   * Still being worked on: restarts the delivery's lease (`ackTimeoutMs`), so it is not
   * redelivered while its holder is alive. Call it well within the lease (a third of it, say)
   * for as long as the delivery is held. Does nothing once the delivery is settled; a lease that
   * already lapsed (the message may be with another member now) is not taken back. Never
   * rejects: a keep-alive that cannot reach the broker only lets the lease lapse.
   */
  working(): Promise<void>;
}

/**
 * Called once per delivery, in the broker's order. It should only hand the delivery over (it
 * is settled later, possibly asynchronously); a handler that throws gets its delivery retried.
 */
export type DeliveryHandler = (delivery: Delivery) => void | Promise<void>;

export interface SubscriptionHandle {
  /**
   * Stops fetching: once it resolves the handler is not called again. Deliveries already
   * handed over can still be settled.
   */
  stop(): Promise<void>;
}

/** The partition key of a delivery body (its CloudEvents `subject`), if it has one. */
export function keyOf(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const subject = (body as { subject?: unknown }).subject;
  return typeof subject === 'string' ? subject : undefined;
}
