import { performance } from 'node:perf_hooks';
import { finalEventTypes } from '@cads/bff/contracts';
import { type Broker, keyOf, type SubscriptionHandle } from '@cads/messaging';

export interface Final {
  readonly type: string;
  /** `performance.now()` when the subscriber received it. */
  readonly at: number;
}

/**
 * Watches a system's broker for saga finals with a broadcast subscription (as a BFF does) and
 * hands each one to whoever waits for its order (`subject` = orderId). A final can arrive
 * before `POST /api/orders` has answered with the order's id, so early ones are kept until
 * claimed.
 */
export class FinalTracker {
  private readonly waiting = new Map<string, (final: Final) => void>();
  private readonly early = new Map<string, Final>();
  private handle: SubscriptionHandle | undefined;
  /** Finals received, duplicates included (the broker is at-least-once). */
  received = 0;

  async start(broker: Broker): Promise<void> {
    this.handle = await broker.subscribe(
      { group: 'bench-saga', types: finalEventTypes, mode: 'broadcast', maxInFlight: 4_096 },
      (delivery) => {
        const at = performance.now();
        const body = delivery.body as { type?: unknown };
        const orderId = keyOf(delivery.body);
        void delivery.ack();
        if (orderId === undefined || typeof body.type !== 'string') return;
        this.received += 1;
        const final = { type: body.type, at };
        const resolve = this.waiting.get(orderId);
        if (resolve) {
          this.waiting.delete(orderId);
          resolve(final);
        } else if (!this.early.has(orderId)) {
          this.early.set(orderId, final);
        }
      },
    );
  }

  /** The final of `orderId`, or `undefined` after `timeoutMs`. */
  wait(orderId: string, timeoutMs: number): Promise<Final | undefined> {
    const early = this.early.get(orderId);
    if (early) {
      this.early.delete(orderId);
      return Promise.resolve(early);
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(orderId);
        resolve(undefined);
      }, timeoutMs);
      this.waiting.set(orderId, (final) => {
        clearTimeout(timer);
        resolve(final);
      });
    });
  }

  /** Forgets finals nobody claimed (those of sagas given up on). */
  clearEarly(): void {
    this.early.clear();
  }

  async stop(): Promise<void> {
    await this.handle?.stop();
  }
}
