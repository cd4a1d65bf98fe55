import type { DeliveryHandler, SubscriptionHandle } from '@cads/messaging';
import type { Msg, NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '@cads/messaging';
import { describeError } from './describe-error.ts';
import {
  decodeBody,
  deliveryCountOf,
  type DeliveryOwner,
  NAK_NOW,
  NatsDelivery,
} from './nats-delivery.ts';
import { nextTarget, planPulls, type TargetBounds, targetBounds } from './pull-plan.ts';
import { Slot } from './pull-slot.ts';

/** One JetStream pull consumer of a subscription: the messages of one event type. */
export interface PullLane {
  readonly type: string;
  readonly consumer: string;
}

export interface PullSubscriptionOptions {
  readonly nc: NatsConnection;
  /** The connection's inbox prefix (`_INBOX` unless permissions require another). */
  readonly inboxPrefix: string | undefined;
  /** `$JS.API`, or the prefix of a JetStream domain. */
  readonly apiPrefix: string;
  readonly stream: string;
  readonly group: string;
  readonly lanes: readonly PullLane[];
  readonly maxInFlight: number;
  readonly ackTimeoutMs: number;
  readonly handler: DeliveryHandler;
  /** Provisions a lane's consumer again after it went missing (deleted, expired). */
  readonly heal: (lane: PullLane) => Promise<void>;
  /** Runs after fetching stopped (a broadcast subscription deletes its consumers). */
  readonly onStopped: () => Promise<void>;
  readonly log: Logger;
}

/** Server-side wait of a pull request; idle lanes re-request this often. */
const REQUEST_EXPIRES_MS = 10_000;
/** With fewer slots than lanes the lanes take turns, so their requests must end sooner. */
const SCARCE_REQUEST_EXPIRES_MS = 1_000;
/** A request neither filled nor answered this long after it expired was lost. */
const LOST_AFTER_EXPIRY_MS = 5_000;
const HANDLER_ERROR_RETRY_MS = 1_000;
/** Two requests per lane: one can be topped up while the other is still being filled. */
const SLOTS_PER_LANE = 2;
const MAX_BACKOFF_MS = 30_000;
const STOP_DRAIN_TIMEOUT_MS = 2_000;

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

interface Lane {
  readonly spec: PullLane;
  readonly nextSubject: string;
  readonly slots: Slot[];
  target: number;
  failures: number;
  blockedUntil: number;
  healing: boolean;
}

/**
 * Pulls a subscription's messages with pull requests sized to its free slots, so a member never
 * holds messages it has no capacity for (they would be in flight on the server, unavailable to
 * the other members, until their ack wait expired). Messages are handed to the handler straight
 * from the connection, in the order the server sent them, which for one lane is stream order.
 */
export class PullSubscription implements SubscriptionHandle, DeliveryOwner {
  readonly #options: PullSubscriptionOptions;
  readonly #bounds: TargetBounds;
  readonly #expiresMs: number;
  readonly #lanes: Lane[];
  /** Handed over, not settled, not yet given up by the server. Insertion order = lease order. */
  readonly #inFlight = new Set<NatsDelivery>();
  #retired: Slot[] = [];
  /** Re-provisioning in progress; stop() waits, so a broadcast consumer is not recreated after. */
  readonly #healing = new Set<Promise<void>>();
  /** Messages requested and not received, over all open requests. */
  #outstanding = 0;
  #cursor = 0;
  #stopped = false;
  #stopping: Promise<void> | undefined;
  readonly #timer: NodeJS.Timeout;

  constructor(options: PullSubscriptionOptions) {
    this.#options = options;
    this.#bounds = targetBounds(options.maxInFlight, options.lanes.length);
    this.#expiresMs =
      options.lanes.length > options.maxInFlight ? SCARCE_REQUEST_EXPIRES_MS : REQUEST_EXPIRES_MS;
    this.#lanes = options.lanes.map((spec) => ({
      spec,
      nextSubject: `${options.apiPrefix}.CONSUMER.MSG.NEXT.${options.stream}.${spec.consumer}`,
      slots: [],
      target: this.#bounds.initial,
      failures: 0,
      blockedUntil: 0,
      healing: false,
    }));
    for (const lane of this.#lanes) {
      for (let i = 0; i < SLOTS_PER_LANE; i++) lane.slots.push(this.#newSlot(lane));
    }
    const period = Math.min(1_000, Math.max(50, Math.floor(options.ackTimeoutMs / 4)));
    this.#timer = setInterval(() => this.#sweep(), period);
    this.#timer.unref();
    this.#schedule();
  }

  /** Stops fetching: no handler call once it resolves; handed-over deliveries may still settle. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  /**
   * NAKs every delivery still unsettled: the broker is closing, so nobody can settle them, and
   * the server would otherwise wait for the ack wait before redelivering them.
   */
  abandon(): void {
    for (const delivery of [...this.#inFlight]) delivery.abandon();
  }

  /** After a reconnect the open requests may be gone with their messages: request afresh. */
  reconnected(): void {
    for (const lane of this.#lanes) {
      // Whatever failed while disconnected says nothing about the consumer now.
      lane.failures = 0;
      lane.blockedUntil = 0;
      lane.slots.forEach((slot, index) => {
        if (slot.requested > 0) lane.slots[index] = this.#retire(lane, slot);
      });
    }
    this.#schedule();
  }

  keepAlive(delivery: NatsDelivery, reply: string, payload: Uint8Array): void {
    // A delivery the sweep already gave up on may be with another member: not taken back.
    if (!this.#inFlight.has(delivery)) return;
    this.#options.nc.publish(reply, payload);
    delivery.leasedAt = Date.now();
    // Kept in lease order, oldest first, for the sweep.
    this.#inFlight.delete(delivery);
    this.#inFlight.add(delivery);
  }

  settle(delivery: NatsDelivery, reply: string, payload: Uint8Array): void {
    try {
      this.#options.nc.publish(reply, payload);
    } finally {
      if (this.#inFlight.delete(delivery)) this.#schedule();
    }
  }

  async #stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    // Draining (unsubscribe, then a round trip) lets messages the server sent before it saw the
    // unsubscribe arrive here, to be NAKed for another member instead of waiting for the ack wait.
    const slots = [...this.#lanes.flatMap((lane) => lane.slots), ...this.#retired];
    const drained = Promise.allSettled(slots.map(async (slot) => slot.sub.drain()));
    // A drain needs the server; while disconnected, give up waiting and just unsubscribe.
    await Promise.race([drained, delay(STOP_DRAIN_TIMEOUT_MS)]);
    for (const slot of slots) {
      try {
        if (!slot.sub.isClosed()) slot.sub.unsubscribe();
      } catch {
        // The connection is closed: so is the subscription.
      }
    }
    await Promise.allSettled([...this.#healing]);
    await this.#options.onStopped();
  }

  #newSlot(lane: Lane): Slot {
    return new Slot(this.#options.nc, this.#options.inboxPrefix, (slot, error, msg) =>
      this.#onSlotMessage(lane, slot, error, msg),
    );
  }

  #onSlotMessage(lane: Lane, slot: Slot, error: Error | null, msg: Msg): void {
    if (error) {
      // The server refused the inbox subscription (permissions): nothing will arrive on it.
      this.#options.log.error(
        { group: this.#options.group, consumer: lane.spec.consumer, ...describeError(error) },
        'JetStream pull inbox failed',
      );
      const index = lane.slots.indexOf(slot);
      if (index !== -1) lane.slots[index] = this.#retire(lane, slot);
      this.#backOff(lane);
      return;
    }
    const reply = msg.reply;
    if (!reply) {
      if (slot.retiredUntil === 0) this.#onStatus(lane, slot, msg);
      return;
    }
    const filled = slot.retiredUntil === 0 && slot.requested > 0 && this.#count(slot);
    this.#deliver(msg, reply);
    if (filled) {
      this.#endRequest(lane, slot, 'filled');
      this.#schedule();
    }
  }

  /** Counts a received message against its slot's request; true when that filled it. */
  #count(slot: Slot): boolean {
    slot.received++;
    this.#outstanding--;
    return slot.received === slot.requested;
  }

  #deliver(msg: Msg, reply: string): void {
    if (this.#stopped) {
      try {
        this.#options.nc.publish(reply, NAK_NOW);
      } catch {
        // Closed: the server redelivers after the ack wait.
      }
      return;
    }
    const delivery = new NatsDelivery(
      this,
      reply,
      decodeBody(msg.data),
      deliveryCountOf(reply) ?? 1,
      Date.now(),
    );
    this.#inFlight.add(delivery);
    try {
      const result = this.#options.handler(delivery);
      if (result instanceof Promise) {
        result.catch((error: unknown) => this.#handlerFailed(delivery, msg.subject, error));
      }
    } catch (error) {
      this.#handlerFailed(delivery, msg.subject, error);
    }
  }

  #handlerFailed(delivery: NatsDelivery, subject: string, error: unknown): void {
    this.#options.log.warn(
      { group: this.#options.group, subject, attempt: delivery.attempt, ...describeError(error) },
      'delivery handler threw; the message will be redelivered',
    );
    delivery.retry(HANDLER_ERROR_RETRY_MS).catch(() => undefined);
  }

  #onStatus(lane: Lane, slot: Slot, msg: Msg): void {
    const code = msg.headers?.code ?? 0;
    const description = msg.headers?.description ?? '';
    // 100 = idle heartbeat or flow control, never requested here; a status for a request that
    // was already written off tells nothing new.
    if (code === 100 || slot.requested === 0) return;
    if (code === 404 || code === 408) {
      // No (more) messages before the request expired: the normal end of a request on a quiet lane.
      this.#endRequest(lane, slot, 'expired');
      lane.failures = 0;
    } else if (code === 409 && !/consumer deleted/i.test(description)) {
      // Exceeded MaxWaiting, leadership change...: the consumer is there, ask again a bit later.
      this.#endRequest(lane, slot, 'failed');
      this.#backOff(lane);
      this.#options.log.warn(
        { group: this.#options.group, consumer: lane.spec.consumer, code, description },
        'JetStream refused a pull request; retrying',
      );
    } else {
      this.#endRequest(lane, slot, 'failed');
      this.#lost(lane, `${code} ${description}`);
    }
    this.#schedule();
  }

  #endRequest(lane: Lane, slot: Slot, outcome: 'filled' | 'expired' | 'failed'): void {
    this.#outstanding -= slot.requested - slot.received;
    if (outcome !== 'failed') {
      lane.target = nextTarget(
        lane.target,
        { filled: outcome === 'filled', received: slot.received },
        this.#bounds,
      );
    }
    slot.requested = 0;
    slot.received = 0;
  }

  /** Replaces a slot whose request is presumed lost; its late messages are still handed over. */
  #retire(lane: Lane, slot: Slot): Slot {
    this.#endRequest(lane, slot, 'failed');
    slot.retiredUntil = Date.now() + this.#expiresMs + LOST_AFTER_EXPIRY_MS;
    this.#retired.push(slot);
    return this.#newSlot(lane);
  }

  /** Something is wrong with the consumer (gone, or no answer): back off and re-provision it. */
  #lost(lane: Lane, reason: string): void {
    this.#backOff(lane);
    this.#options.log.warn(
      { group: this.#options.group, consumer: lane.spec.consumer, reason },
      'JetStream pull request failed; checking the consumer',
    );
    if (lane.healing || this.#stopped) return;
    lane.healing = true;
    const healed = this.#options
      .heal(lane.spec)
      .catch((error: unknown) => {
        this.#backOff(lane);
        this.#options.log.error(
          { group: this.#options.group, consumer: lane.spec.consumer, ...describeError(error) },
          'could not provision the JetStream consumer again',
        );
      })
      .finally(() => {
        lane.healing = false;
        this.#healing.delete(healed);
        this.#schedule();
      });
    this.#healing.add(healed);
  }

  #backOff(lane: Lane): void {
    lane.failures++;
    const delay = Math.min(MAX_BACKOFF_MS, 250 * 2 ** Math.min(lane.failures - 1, 10));
    lane.blockedUntil = Date.now() + delay * (0.8 + 0.4 * Math.random());
  }

  #sweep(): void {
    const now = Date.now();
    // The server has redelivered these by now; a handler that never settles must not hold the
    // subscription's slots forever.
    const givenUpBefore = now - this.#options.ackTimeoutMs;
    for (const delivery of this.#inFlight) {
      if (delivery.leasedAt > givenUpBefore) break;
      this.#inFlight.delete(delivery);
    }
    for (const lane of this.#lanes) {
      lane.slots.forEach((slot, index) => {
        if (slot.requested === 0 || now <= slot.deadline) return;
        // Neither filled nor ended by a status: the request or some of its messages were lost
        // (disconnect, server restart) or the consumer is gone (a pull to a missing consumer
        // gets no answer at all on 2.9).
        lane.slots[index] = this.#retire(lane, slot);
        this.#lost(lane, 'no answer to a pull request');
      });
    }
    this.#retired = this.#retired.filter((slot) => {
      if (slot.retiredUntil > now) return true;
      try {
        slot.sub.unsubscribe();
      } catch {
        // The connection is closed: so is the subscription.
      }
      return false;
    });
    this.#schedule();
  }

  #schedule(): void {
    if (this.#stopped) return;
    const free = this.#options.maxInFlight - this.#inFlight.size - this.#outstanding;
    if (free <= 0) return;
    const now = Date.now();
    const credit = this.#lanes.map((lane) => {
      let remaining = 0;
      let idle = false;
      for (const slot of lane.slots) {
        remaining += slot.requested - slot.received;
        if (slot.requested === 0) idle = true;
      }
      const canPull = idle && !lane.healing && lane.blockedUntil <= now;
      return { remaining, canPull, target: lane.target };
    });
    const plan = planPulls(credit, free, this.#cursor, this.#bounds.quantum);
    this.#cursor = (this.#cursor + 1) % this.#lanes.length;
    for (const { lane, batch } of plan) this.#pull(this.#lanes[lane]!, batch, now);
  }

  #pull(lane: Lane, batch: number, now: number): void {
    const slot = lane.slots.find((candidate) => candidate.requested === 0);
    if (slot === undefined) return;
    slot.requested = batch;
    slot.received = 0;
    slot.deadline = now + this.#expiresMs + LOST_AFTER_EXPIRY_MS;
    this.#outstanding += batch;
    try {
      this.#options.nc.publish(
        lane.nextSubject,
        JSON.stringify({ batch, expires: this.#expiresMs * 1_000_000 }),
        { reply: slot.inbox },
      );
    } catch (error) {
      // Only a closed connection throws here; close() is stopping everything anyway.
      this.#endRequest(lane, slot, 'failed');
      this.#backOff(lane);
      this.#options.log.warn(
        { group: this.#options.group, consumer: lane.spec.consumer, ...describeError(error) },
        'could not send a pull request',
      );
    }
  }
}
