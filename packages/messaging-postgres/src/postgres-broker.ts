import { randomUUID } from 'node:crypto';
import {
  type Broker,
  type DeliveryHandler,
  keyOf,
  type Message,
  type Subscription,
  type SubscriptionHandle,
} from '@cads/messaging';
import {
  type Database,
  loadMigrations,
  migrate,
  type Queryable,
  SqlIdentifier,
} from '@cads/storage';
import { type Logger, silentLogger } from '@cads/messaging';
import { createBatcher } from './batcher.ts';
import { startMaintenance } from './maintenance.ts';
import {
  appendToLog,
  countPending,
  dropGroup,
  ensureGroup,
  pruneLog,
  type LogEntry,
  releaseAllClaims,
  releaseClaims,
  renewClaims,
  type Renewal,
  type SettleOp,
  settleDeliveries,
} from './statements.ts';
import { type RunningSubscription, startSubscription } from './subscription.ts';

export interface PostgresBrokerOptions {
  /** The broker's tables live in this database's schema (e.g. `cads_broker`). Not closed by the broker. */
  readonly db: Database;
  /**
   * Names this broker's broadcast groups and tags its notifications, so unique per broker object.
   * Default: a random UUID. `[A-Za-z0-9_.:-]{1,100}`.
   */
  readonly instanceId?: string;
  /** Fetch this often even without a notification (they can be lost). Default 500. */
  readonly pollIntervalMs?: number;
  /**
   * Two fetches of one subscription start at least this far apart: under load one fetch then
   * takes what several would have (a fetch costs about the same for one row as for ten), for
   * up to this much added latency per delivery. Default 0 (fetch as soon as woken).
   */
  readonly fetchIntervalMs?: number;
  /** How often this process marks its groups alive and expires dead broadcast groups. Default 5 000. */
  readonly heartbeatIntervalMs?: number;
  /** A broadcast group not marked alive for this long belongs to a dead process. Default 60 000. */
  readonly broadcastExpiryMs?: number;
  /**
   * Leases (`ackTimeoutMs`) shorter than this are lengthened to it. For a log only one process
   * consumes (the embedded mode): there a short lease buys nothing — the process gives a dead
   * predecessor's claims back at start (`releaseAbandonedClaims`) — while a long queue of
   * statements could let one lapse under a live holder. Default 0.
   */
  readonly minimumAckTimeoutMs?: number;
  /** Redelivery delay of a delivery whose handler threw. Default 1 000. */
  readonly handlerErrorRetryMs?: number;
  /** When set, each heartbeat prunes log entries older than this that every group has settled. */
  readonly retentionMs?: number;
  /** How often to vacuum the broker's tables (PGlite has no autovacuum); 0 never. Default 60 000. */
  readonly vacuumIntervalMs?: number;
  readonly log?: Logger;
}

export interface PruneOptions {
  /** Only entries published longer ago than this are deleted. */
  readonly olderThanMs: number;
  /** Entries deleted per call, at most. Default 10 000. */
  readonly batchSize?: number;
}

/** The `Broker` port on a PostgreSQL-compatible log, plus retention. */
export interface PostgresBroker extends Broker {
  /**
   * Deletes the oldest log entries older than `olderThanMs` that every group (competing and
   * broadcast) has read and settled; returns how many. Their ids leave the dedup window, and a
   * competing group created later no longer sees them. A group that is never consumed again
   * holds retention back: drop it (`broker_group`) when its service is removed.
   */
  prune(options: PruneOptions): Promise<number>;
  /**
   * Appends `messages` to the log inside the caller's transaction `tx`, which must be on the
   * same database as the broker (another schema of it is fine): they become visible to every
   * group when, and only if, that transaction commits — a transactional outbox with no relay
   * behind it. The log's head row stays locked until then, so writers that use this serialise
   * on it: meant for PGlite, where transactions run one at a time anyway, not for a busy server.
   */
  appendWithin(tx: Queryable, messages: readonly Message[]): Promise<void>;
  /**
   * Gives every claimed delivery of every group back at once, as if each lease had lapsed (the
   * attempt still counts). Only for a log that no other live process consumes — the embedded
   * mode, which holds its data directory exclusively — so that what a crashed predecessor held
   * resumes as soon as the process is up rather than when the leases lapse. Call it before
   * subscribing. Returns how many were released.
   */
  releaseAbandonedClaims(): Promise<number>;
}

const groupPattern = /^[A-Za-z0-9_-]{1,200}$/;
const instancePattern = /^[A-Za-z0-9_.:-]{1,100}$/;

/**
 * Opens the durable event-log broker on `options.db` (PGlite or a PostgreSQL server), applying
 * its migrations first (idempotent; concurrent starts are serialised by the migration lock).
 *
 * Guarantees:
 * - **Durability and dedup**: `publish` resolves after the batch committed in one statement; a
 *   message id already in the log (and not pruned) is stored once.
 * - **No skipped messages**: positions are allocated under the head row's lock, held to commit,
 *   so they become visible in commit order and a reader never passes a slower writer.
 * - **At-least-once** per group: a delivery is removed only by `ack`/`reject`; a claim that is
 *   neither settled nor renewed (`working`) within `ackTimeoutMs` (e.g. the process crashed)
 *   lapses and is redelivered with the next attempt number; `close()` gives unsettled claims
 *   back at once, and `releaseAbandonedClaims` every claim when the caller knows no other
 *   process consumes.
 * - **Ordering**: each group gets messages in log (commit) order, and never holds two unsettled
 *   messages with the same key (`subject`) at once, even across competing members: a later
 *   message of a key waits until the earlier one is settled. Different keys flow in parallel.
 * - **Pending** is exact for the snapshot of its one statement: the group's unsettled rows of
 *   those types plus the log entries of those types past its read position. A settle is
 *   reflected once it has resolved (it resolves when its batch has committed).
 *
 * What grows: `broker_log` until pruned (`prune` or `retentionMs`); `broker_group` by one row
 * per competing group ever created; `broker_delivery` stays bounded (about 1 000 unsettled rows
 * per group plus those in flight).
 */
export async function createPostgresBroker(
  options: PostgresBrokerOptions,
): Promise<PostgresBroker> {
  const { db } = options;
  const log = options.log ?? silentLogger;
  const instanceId = options.instanceId ?? randomUUID();
  if (!instancePattern.test(instanceId)) {
    throw new TypeError(`invalid broker instanceId ${JSON.stringify(instanceId)}`);
  }
  const pollIntervalMs = options.pollIntervalMs ?? 500;
  const fetchIntervalMs = options.fetchIntervalMs ?? 0;
  const handlerErrorRetryMs = options.handlerErrorRetryMs ?? 1_000;

  await migrate(
    db,
    'cads.broker',
    await loadMigrations(new URL('../migrations/', import.meta.url)),
  );

  // NOTIFY is database-wide: the channel names the schema so two brokers' logs stay apart.
  const channel = `cads_broker_${db.schema}`.slice(0, 63);
  const notifyPrefix = `${instanceId} `;
  // Both coalesce concurrent calls into one statement: acks of one tick, publishes of
  // concurrent handlers (one NOTIFY and one head-row lock per batch, not per call).
  const settler = createBatcher<SettleOp, ReadonlySet<number>>(
    (ops) => settleDeliveries(db, ops),
    1_000,
  );
  const renewer = createBatcher<Renewal, ReadonlySet<string>>(
    (renewals) => renewClaims(db, renewals),
    1_000,
  );
  const publisher = createBatcher<LogEntry>(
    (entries) => appendToLog(db, entries, channel, notifyPrefix),
    1_000,
  );
  const running = new Set<RunningSubscription>();
  let closing = false;
  let open = true;
  let broadcastSeq = 0;

  const wakeFor = (types: Iterable<string> | undefined): void => {
    const wanted = types === undefined ? undefined : new Set(types);
    for (const subscription of running) {
      if (!wanted || [...subscription.types].some((type) => wanted.has(type))) subscription.wake();
    }
  };

  const unlisten = await db.listen(channel, (payload) => {
    const space = payload.indexOf(' ');
    // Our own publishes already woke our subscriptions.
    if (space < 0 || payload.slice(0, space) === instanceId) return;
    const types = payload.slice(space + 1);
    wakeFor(types === '' ? undefined : types.split(','));
  });

  const maintenance = startMaintenance({
    db,
    log,
    groupIds: () => [...running].map((subscription) => subscription.groupId()),
    intervalMs: options.heartbeatIntervalMs ?? 5_000,
    broadcastExpiryMs: options.broadcastExpiryMs ?? 60_000,
    retentionMs: options.retentionMs,
    vacuumIntervalMs: options.vacuumIntervalMs ?? 60_000,
  });

  // Stopped competing subscriptions whose deliveries may still be settled (or released on close).
  const draining = new Set<RunningSubscription>();
  const stopSubscription = async (subscription: RunningSubscription): Promise<void> => {
    if (!running.delete(subscription)) return;
    await subscription.stop();
    if (subscription.broadcast) {
      // A broadcast group's state goes with it (settling its deliveries is then a no-op). If
      // this fails, the group expires like a dead process's.
      await dropGroup(db, subscription.groupId()).catch((error: unknown) =>
        log.warn({ err: error }, 'could not drop a broadcast group; it will expire'),
      );
    } else draining.add(subscription);
    for (const stopped of draining) if (stopped.unsettled().length === 0) draining.delete(stopped);
  };

  const schema = new SqlIdentifier(db.schema);
  // Not this broker's own prefix: the commit's notification is what wakes its subscriptions.
  const withinPrefix = `within:${instanceId} `;

  return {
    async publish(messages: readonly Message[]) {
      if (closing) throw new Error('cads.broker: publish after close');
      if (messages.length === 0) return;
      const entries = messages.map(toEntry);
      await publisher.add(entries);
      wakeFor(entries.map((entry) => entry.type));
    },

    async appendWithin(tx: Queryable, messages: readonly Message[]) {
      if (closing) throw new Error('cads.broker: publish after close');
      if (messages.length === 0) return;
      await appendToLog(tx, messages.map(toEntry), channel, withinPrefix, schema);
    },

    async subscribe(subscription: Subscription, handler: DeliveryHandler) {
      if (closing) throw new Error('cads.broker: subscribe after close');
      const { group, mode } = subscription;
      assertGroup(group);
      const types = [...new Set(subscription.types)];
      if (types.length === 0) throw new TypeError(`group ${group} subscribes to no type`);
      const maxInFlight = positiveInteger(subscription.maxInFlight ?? 64, 'maxInFlight');
      const ackTimeoutMs = Math.max(
        positiveInteger(subscription.ackTimeoutMs ?? 30_000, 'ackTimeoutMs'),
        options.minimumAckTimeoutMs ?? 0,
      );
      const broadcast = mode === 'broadcast';
      // Each broadcast subscription is its own group; '@' cannot occur in a competing name.
      const groupName = broadcast ? `${group}@${instanceId}#${++broadcastSeq}` : group;
      const groupId = await ensureGroup(db, groupName, broadcast);
      const started = startSubscription(
        {
          db,
          settler,
          renewer,
          log,
          groupName,
          groupId,
          broadcast,
          types,
          maxInFlight,
          ackTimeoutMs,
          pollIntervalMs,
          fetchIntervalMs,
          handlerErrorRetryMs,
          isOpen: () => open,
        },
        handler,
      );
      running.add(started);
      const handle: SubscriptionHandle = { stop: () => stopSubscription(started) };
      return handle;
    },

    async pending(group: string, types: readonly string[]) {
      if (closing) throw new Error('cads.broker: pending after close');
      assertGroup(group);
      return types.length === 0 ? 0 : countPending(db, group, types);
    },

    async close() {
      if (closing) return;
      closing = true;
      await maintenance.stop();
      await Promise.all([...running].map(stopSubscription));
      await Promise.all([settler.drain(), publisher.drain(), renewer.drain()]);
      open = false;
      // Settling is refused from now on: give what is still held back to the group right away.
      const unsettled = [...draining].flatMap((subscription) => subscription.unsettled());
      draining.clear();
      await releaseClaims(db, unsettled, false).catch((error: unknown) =>
        log.warn({ err: error }, 'could not release unsettled deliveries on close'),
      );
      await unlisten();
    },

    prune: ({ olderThanMs, batchSize = 10_000 }) => pruneLog(db, olderThanMs, batchSize),

    releaseAbandonedClaims: () => releaseAllClaims(db),
  };
}

function toEntry(message: Message): LogEntry {
  return {
    id: message.id,
    type: message.type,
    key: keyOf(message) ?? null,
    payload: JSON.stringify(message),
  };
}

function assertGroup(group: string): void {
  if (!groupPattern.test(group)) {
    throw new TypeError(`invalid group ${JSON.stringify(group)}: use [A-Za-z0-9_-]`);
  }
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new TypeError(`${name} must be a positive integer, got ${value}`);
  }
  return value;
}
