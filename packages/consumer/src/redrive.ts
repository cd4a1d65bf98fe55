import type { Delivery } from '@cads/messaging';
import { sql, type Database } from '@cads/storage';
import { discardDeadLetter } from './dead-letters.ts';
import type { Work } from './consumer.ts';
import type { Logger } from '@cads/messaging';

export interface RedrivePollerOptions {
  readonly db: Database;
  readonly consumer: string;
  readonly intervalMs: number;
  readonly push: (work: Work) => void;
  readonly log: Logger;
}

/**
 * Feeds dead letters whose redrive was requested back into the consumer's lanes as
 * deliveries. Acking one deletes the letter (after the handler's transaction committed, so a
 * crash in between leaves a letter whose next redrive is a duplicate the inbox absorbs);
 * failing again updates the letter and clears the request; a retry waits in this process.
 * A request stays set until one of those happens, so a crash mid-redrive is picked up again.
 */
export function startRedrivePoller(options: RedrivePollerOptions): {
  poke(): void;
  stop(): Promise<void>;
} {
  const { db, consumer, log } = options;
  const inFlight = new Set<string>();
  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;
  let polling: Promise<void> = Promise.resolve();

  const deliver = (messageId: string, body: unknown, attempt: number) => {
    let settled = false;
    const settleOnce = () => {
      if (settled) return false;
      settled = true;
      return true;
    };
    const delivery: Delivery = {
      body,
      attempt,
      async ack() {
        if (!settleOnce()) return;
        try {
          await discardDeadLetter(db, consumer, messageId);
        } finally {
          inFlight.delete(messageId);
        }
      },
      reject() {
        if (settleOnce()) inFlight.delete(messageId);
        return Promise.resolve();
      },
      retry(delayMs) {
        if (!settleOnce()) return Promise.resolve();
        const timer = setTimeout(() => {
          timers.delete(timer);
          if (stopped) inFlight.delete(messageId);
          else deliver(messageId, body, attempt + 1);
        }, delayMs);
        timers.add(timer);
        return Promise.resolve();
      },
      // Held by this process only (the letter stays stored until the redrive commits).
      working: () => Promise.resolve(),
    };
    inFlight.add(messageId);
    options.push({ delivery, storedId: messageId });
  };

  const poll = async () => {
    const { rows } = await db.query<{ message_id: string; body: unknown }>(
      sql`select message_id, body from cads_dead_letters
          where consumer = ${consumer} and redrive_requested_at is not null
          order by redrive_requested_at limit 50`,
    );
    for (const row of rows) {
      if (!inFlight.has(row.message_id)) deliver(row.message_id, row.body, 1);
    }
  };

  const tick = () => {
    if (stopped) return;
    polling = poll().catch((error: unknown) =>
      log.warn({ consumer, err: error }, 'redrive poll failed'),
    );
  };
  const interval = setInterval(tick, options.intervalMs);
  interval.unref();

  return {
    poke: tick,
    async stop() {
      stopped = true;
      clearInterval(interval);
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await polling;
    },
  };
}
