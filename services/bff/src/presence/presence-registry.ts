import type { Logger } from '@cads/messaging';
import { type Database, sql } from '@cads/storage';
import { createCoalescedWriter } from './coalesced-writer.ts';

export interface PresenceOptions {
  readonly db: Database;
  /** Unique per running instance (a new one at every start). */
  readonly instanceId: string;
  readonly log: Logger;
  /**
   * An instance that has not refreshed its row for this long is considered gone, with every
   * user it held. It refreshes three times per period. Default 15 000.
   */
  readonly ttlMs?: number;
}

/**
 * Which orders each user follows live (at least one SSE or WebSocket connection to the order,
 * on any BFF instance, shared through the BFF's database), so the offline decision about an
 * order's final event can be made once, by whichever instance consumes it.
 *
 * Guarantees:
 * - Presence is per order: a user live on one order is offline for their others (the live
 *   stream is per order, so a page of one order shows nothing of another).
 * - `enter` resolves only once the presence is stored: a final event of that order decided
 *   after that sees the user online (the caller sends the order's state after `enter`, so the
 *   user never misses an event they were not notified of).
 * - A user is online for an order while any of their connections to it on a live instance is
 *   open; `leave` of the last one removes the row. Writes are coalesced: one write for every
 *   connection that entered (or left) while the previous write ran, so thousands of connections
 *   cost few round trips. The writes of one (user, order) are stored in the order they were made.
 * - A crashed instance's connections count as offline once its row is older than `ttlMs`.
 */
export interface PresenceRegistry {
  start(): Promise<void>;
  /** A connection of `userId` to `orderId` opened; resolves once that presence is stored. */
  enter(userId: string, orderId: string): Promise<void>;
  /** That connection closed; the row goes (coalesced, in the background) with the last one. */
  leave(userId: string, orderId: string): void;
  /**
   * Whether the user should count as present for `eventId` of `orderId`: a live connection of
   * theirs to that order now, or the event was shown on one of their connections (`sawLive`).
   * Connections to other orders do not count, nor another user's connection to this order.
   */
  isOnline(userId: string, orderId: string, eventId?: string): Promise<boolean>;
  /**
   * Records that a final event was written to an open connection of its user, live or in an
   * order's state (writes are coalesced; kept a day). Resolves once stored.
   */
  sawLive(eventId: string): Promise<void>;
  /** Connections entered on this instance and not left yet. */
  readonly localConnections: number;
  /** Removes this instance and its connections. */
  stop(): Promise<void>;
}

/** What must be stored of one user's connections to one order on this instance. */
interface OrderPresence {
  readonly userId: string;
  readonly orderId: string;
  readonly state: 'in' | 'out';
}

const defaultTtlMs = 15_000;

export function createPresenceRegistry(options: PresenceOptions): PresenceRegistry {
  const { db, instanceId, log } = options;
  const ttlMs = options.ttlMs ?? defaultTtlMs;
  /** Open connections per (user, order), by `presenceKey`. */
  const connections = new Map<string, number>();
  let connectionCount = 0;
  let beat: NodeJS.Timeout | undefined;

  const presence = createCoalescedWriter<string, OrderPresence>(
    async (entries) => {
      const entering = [...entries.values()].filter((entry) => entry.state === 'in');
      const leaving = [...entries.values()].filter((entry) => entry.state === 'out');
      if (entering.length > 0) {
        await db.query(
          sql`insert into bff_presence (user_id, order_id, instance_id)
              select user_id, order_id, ${instanceId}
              from unnest(${entering.map((entry) => entry.userId)}::text[],
                          ${entering.map((entry) => entry.orderId)}::text[])
                as entering (user_id, order_id)
              on conflict do nothing`,
        );
      }
      if (leaving.length > 0) {
        await db.query(
          sql`delete from bff_presence p
              using unnest(${leaving.map((entry) => entry.userId)}::text[],
                           ${leaving.map((entry) => entry.orderId)}::text[])
                as leaving (user_id, order_id)
              where p.instance_id = ${instanceId}
                and p.user_id = leaving.user_id and p.order_id = leaving.order_id`,
        );
      }
    },
    (error) => log.error({ err: error }, 'presence write failed; retrying'),
  );

  /** Final events seen live. */
  const seen = createCoalescedWriter<string, true>(
    async (events) => {
      await db.query(
        sql`insert into bff_seen_final_events (event_id)
            select unnest(${[...events.keys()]}::text[]) on conflict do nothing`,
      );
    },
    (error) => log.error({ err: error }, 'recording a seen final event failed; retrying'),
  );

  async function refresh(): Promise<void> {
    await db.query(
      sql`insert into bff_instances (instance_id, seen_at) values (${instanceId}, now())
          on conflict (instance_id) do update set seen_at = excluded.seen_at`,
    );
    await db.query(sql`delete from bff_seen_final_events where seen_at < now() - interval '1 day'`);
    // Instances gone for long: their presence rows go with them (cascade).
    await db.query(
      sql`delete from bff_instances
          where seen_at < now() - make_interval(secs => ${(ttlMs * 10) / 1000})`,
    );
  }

  return {
    get localConnections() {
      return connectionCount;
    },
    async start() {
      await refresh();
      beat = setInterval(() => {
        refresh().catch((error: unknown) => log.error({ err: error }, 'presence refresh failed'));
      }, ttlMs / 3);
      beat.unref();
    },
    async enter(userId, orderId) {
      const key = presenceKey(userId, orderId);
      const count = connections.get(key) ?? 0;
      connections.set(key, count + 1);
      connectionCount++;
      // A second connection waits for the first one's write if it is still under way.
      await (count === 0
        ? presence.set(key, { userId, orderId, state: 'in' })
        : presence.pending(key));
    },
    leave(userId, orderId) {
      const key = presenceKey(userId, orderId);
      const count = connections.get(key) ?? 0;
      if (count === 0) return;
      connectionCount--;
      if (count === 1) {
        connections.delete(key);
        void presence.set(key, { userId, orderId, state: 'out' });
      } else {
        connections.set(key, count - 1);
      }
    },
    async isOnline(userId, orderId, eventId) {
      const { rows } = await db.query<{ online: boolean }>(
        sql`select exists (
              select 1 from bff_presence p join bff_instances i using (instance_id)
              where p.user_id = ${userId} and p.order_id = ${orderId}
                and i.seen_at > now() - make_interval(secs => ${ttlMs / 1000})
            ) or exists (
              select 1 from bff_seen_final_events where event_id = ${eventId ?? null}::text
            ) as online`,
      );
      return rows[0]?.online === true;
    },
    sawLive: (eventId) => seen.set(eventId, true),
    async stop() {
      clearInterval(beat);
      connections.clear();
      connectionCount = 0;
      presence.stop();
      seen.stop();
      // Cascades to this instance's presence rows.
      await db.query(sql`delete from bff_instances where instance_id = ${instanceId}`);
    },
  };
}

/** One map key per (user, order); JSON, so no id can make two pairs collide. */
function presenceKey(userId: string, orderId: string): string {
  return JSON.stringify([userId, orderId]);
}
