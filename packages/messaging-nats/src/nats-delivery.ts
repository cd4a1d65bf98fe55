import type { Delivery } from '@cads/messaging';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const ACK = encoder.encode('+ACK');
const NAK = encoder.encode('-NAK');
const TERM = encoder.encode('+TERM');
const IN_PROGRESS = encoder.encode('+WPI');

/** Where a delivery sends its settlement: the subscription that handed it out. */
export interface DeliveryOwner {
  /** Sends `payload` to the message's ack subject and frees its in-flight slot. May throw. */
  settle(delivery: NatsDelivery, reply: string, payload: Uint8Array): void;
  /** Sends an in-progress notice to the ack subject (the server restarts the ack wait). May throw. */
  keepAlive(delivery: NatsDelivery, reply: string, payload: Uint8Array): void;
}

/**
 * One JetStream delivery. Settling publishes to the message's ack subject without waiting for
 * the server to confirm: a lost ack only means a redelivery after the ack wait, which consumers
 * absorb by message id, and confirmed acks would cost a round trip per message. Only the first
 * settlement counts; later calls resolve and do nothing. `Broker.close` NAKs what is unsettled.
 */
export class NatsDelivery implements Delivery {
  readonly body: unknown;
  readonly attempt: number;
  /**
   * `Date.now()` when handed over or last kept alive: the server redelivers it an ack wait
   * after that, so the subscription stops counting it then.
   */
  leasedAt: number;
  readonly #owner: DeliveryOwner;
  readonly #reply: string;
  #settled = false;

  constructor(owner: DeliveryOwner, reply: string, body: unknown, attempt: number, at: number) {
    this.#owner = owner;
    this.#reply = reply;
    this.body = body;
    this.attempt = attempt;
    this.leasedAt = at;
  }

  ack(): Promise<void> {
    return this.#settle(ACK);
  }

  /** NAK with a delay: the server redelivers no sooner than `delayMs` (measured on 2.9.10). */
  retry(delayMs: number): Promise<void> {
    const delayNanos = Math.round(delayMs * 1_000_000);
    return this.#settle(delayNanos > 0 ? encoder.encode(`-NAK {"delay":${delayNanos}}`) : NAK);
  }

  reject(): Promise<void> {
    return this.#settle(TERM);
  }

  /**
   * `+WPI`: the server restarts the ack wait. Unconfirmed, like the settlements: if it is lost
   * the message is redelivered after the ack wait, which consumers absorb.
   */
  working(): Promise<void> {
    if (this.#settled) return Promise.resolve();
    try {
      this.#owner.keepAlive(this, this.#reply, IN_PROGRESS);
    } catch {
      // Disconnected: the lease lapses and the message comes back, as after a crash.
    }
    return Promise.resolve();
  }

  /**
   * NAKs the delivery if it is still unsettled, so the server redelivers it now rather than
   * after the ack wait; later settle calls do nothing. Used when the broker closes.
   */
  abandon(): void {
    this.#settle(NAK).catch(() => undefined);
  }

  #settle(payload: Uint8Array): Promise<void> {
    if (this.#settled) return Promise.resolve();
    this.#settled = true;
    try {
      this.#owner.settle(this, this.#reply, payload);
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }
}

/** A NAK without delay, for messages that arrive after a subscription stopped. */
export const NAK_NOW = NAK;

/**
 * The payload as JSON, or as the raw string when it is not JSON: the envelope is validated by
 * the consumer (`parseMessage`), which dead-letters garbage instead of the broker dropping it.
 */
export function decodeBody(data: Uint8Array): unknown {
  const text = decoder.decode(data);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/**
 * The delivery count from a JetStream ack subject:
 * `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<dseq>.<ts>.<pending>` (2.9), or the ≥ 2.10
 * form with `<domain>.<account hash>` after `ACK` and a random token at the end.
 */
export function deliveryCountOf(reply: string): number | undefined {
  const tokens = reply.split('.');
  if (tokens[0] !== '$JS' || tokens[1] !== 'ACK') return undefined;
  const token = tokens.length === 9 ? tokens[4] : tokens.length >= 11 ? tokens[6] : undefined;
  const count = Number(token);
  return Number.isInteger(count) && count > 0 ? count : undefined;
}
