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
 * Which users have at least one live connection, on any BFF instance (shared through the BFF's
 * database), so the offline decision can be made once, by whichever instance consumes the
 * final event.
 *
 * Guarantees:
 * - `enter` resolves only once the user's presence is stored: a final event decided after that
 *   sees the user online (the caller sends the order's state after `enter`, so the user never
 *   misses an event they were not notified of).
 * - A user is online while any of their connections on a live instance is open; `leave` of the
 *   last one removes the row. Writes are coalesced: one statement for every user that entered
 *   (or left) while the previous write ran, so thousands of connections cost few round trips.
 * - A crashed instance's users count as offline once its row is older than `ttlMs`.
 */
export interface PresenceRegistry {
  start(): Promise<void>;
  enter(userId: string): Promise<void>;
  leave(userId: string): void;
  /**
   * Whether the user should count as present for `eventId`: a live connection now, or the
   * event was pushed to one of their connections (`sawLive`).
   */
  isOnline(userId: string, eventId?: string): Promise<boolean>;
  /**
   * Records that a final event reached a live connection of its user (fire and forget; writes
   * are coalesced). Resolves once stored.
   */
  sawLive(eventId: string): Promise<void>;
  /** Users with a connection on this instance. */
  readonly localUsers: number;
  /** Removes this instance and its users. */
  stop(): Promise<void>;
}

const defaultTtlMs = 15_000;

export function createPresenceRegistry(options: PresenceOptions): PresenceRegistry {
  const { db, instanceId, log } = options;
  const ttlMs = options.ttlMs ?? defaultTtlMs;
  const connections = new Map<string, number>();
  let beat: NodeJS.Timeout | undefined;

  /** Each user's presence on this instance, as it must be stored. */
  const presence = createCoalescedWriter<string, 'in' | 'out'>(
    async (states) => {
      const entering = [...states].filter(([, state]) => state === 'in').map(([user]) => user);
      const leaving = [...states].filter(([, state]) => state === 'out').map(([user]) => user);
      if (entering.length > 0) {
        await db.query(
          sql`insert into bff_presence (user_id, instance_id)
              select unnest(${entering}::text[]), ${instanceId}
              on conflict do nothing`,
        );
      }
      if (leaving.length > 0) {
        await db.query(
          sql`delete from bff_presence
              where instance_id = ${instanceId} and user_id = any(${leaving}::text[])`,
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
    get localUsers() {
      return connections.size;
    },
    async start() {
      await refresh();
      beat = setInterval(() => {
        refresh().catch((error: unknown) => log.error({ err: error }, 'presence refresh failed'));
      }, ttlMs / 3);
      beat.unref();
    },
    async enter(userId) {
      const count = connections.get(userId) ?? 0;
      connections.set(userId, count + 1);
      // A second connection waits for the first one's write if it is still under way.
      await (count === 0 ? presence.set(userId, 'in') : presence.pending(userId));
    },
    leave(userId) {
      const count = connections.get(userId) ?? 0;
      if (count <= 1) {
        connections.delete(userId);
        void presence.set(userId, 'out');
      } else {
        connections.set(userId, count - 1);
      }
    },
    async isOnline(userId, eventId) {
      const { rows } = await db.query<{ online: boolean }>(
        sql`select exists (
              select 1 from bff_presence p join bff_instances i using (instance_id)
              where p.user_id = ${userId}
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
      presence.stop();
      seen.stop();
      // Cascades to this instance's presence rows.
      await db.query(sql`delete from bff_instances where instance_id = ${instanceId}`);
    },
  };
}
