import { randomUUID } from 'node:crypto';
import type { Broker, Message } from '@cads/messaging';
import { sql, type Database } from '@cads/storage';
import { installConsumerTables } from './install.ts';
import { type Logger, silentLogger } from '@cads/messaging';
import { type ConsumerMetrics, noMetrics } from './observability.ts';

export interface OutboxRelayOptions {
  readonly db: Database;
  readonly broker: Broker;
  /** Names the relay in metrics and logs, e.g. the service. */
  readonly source: string;
  readonly instanceId?: string;
  /** Messages per publish. Default 256. */
  readonly batchSize?: number;
  /** Polling fallback when nobody wakes the relay (another process committed). Default 250 ms. */
  readonly pollIntervalMs?: number;
  /**
   * How long a relay's lease lasts without renewal before another instance takes over: how long
   * a database's events wait when the instance publishing them dies. Renewed every third of it
   * while the relay runs. Default 2 s.
   */
  readonly leaseMs?: number;
  readonly log?: Logger;
  readonly metrics?: ConsumerMetrics;
}

export interface OutboxRelay {
  /** Installs the tables if needed and starts publishing in the background. */
  start(): Promise<void>;
  /** Publish soon: call after committing a transaction that wrote to the outbox. */
  wake(): void;
  /** Publishes every pending message now (tests, tools). Returns how many were published. */
  flush(): Promise<number>;
  /** Finishes the publish in progress, gives up the lease, and stops. */
  stop(): Promise<void>;
}

/**
 * Publishes outbox messages to the broker, oldest first, and deletes them once the broker has
 * stored them.
 *
 * Guarantees: every committed outbox message is published at least once, with its own id as
 * the broker message id, so a republish after a crash (between publish and delete) is dropped
 * by the broker's deduplication or, past its window, by the consumers' inboxes. One relay per
 * database publishes at a time (a lease in the database), which keeps the messages of one
 * database in commit order of their outbox rows; if the holder dies, another instance takes
 * over once the lease expires.
 */
export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { db, broker, source } = options;
  const holder = options.instanceId ?? randomUUID();
  const batchSize = options.batchSize ?? 256;
  const pollIntervalMs = options.pollIntervalMs ?? 250;
  const leaseMs = options.leaseMs ?? 2_000;
  const log = options.log ?? silentLogger;
  const metrics = options.metrics ?? noMetrics;

  let running: Promise<void> | undefined;
  let stopped = false;
  let woken = false;
  let wakeUp: (() => void) | undefined;
  let leaseRenewedAt = 0;
  let publishing: Promise<number> = Promise.resolve(0);

  const holdLease = async (): Promise<boolean> => {
    if (Date.now() - leaseRenewedAt < leaseMs / 3) return true;
    const { rowCount } = await db.query(
      sql`insert into cads_outbox_lease (name, holder, expires_at)
          values ('relay', ${holder}, now() + make_interval(secs => ${leaseMs / 1000}))
          on conflict (name) do update set holder = excluded.holder, expires_at = excluded.expires_at
          where cads_outbox_lease.holder = excluded.holder or cads_outbox_lease.expires_at < now()`,
    );
    leaseRenewedAt = rowCount > 0 ? Date.now() : 0;
    return rowCount > 0;
  };

  const publishBatch = async (): Promise<number> => {
    const { rows } = await db.query<{ seq: number; message: Message; age: number }>(
      sql`select seq, message, extract(epoch from now() - created_at)::float8 as age
          from cads_outbox order by seq limit ${batchSize}`,
    );
    if (rows.length === 0) return 0;
    await broker.publish(rows.map((row) => row.message));
    await db.query(
      sql`delete from cads_outbox where seq = any(${rows.map((row) => row.seq)}::bigint[])`,
    );
    metrics.published(source, rows.length, rows[0]?.age ?? 0);
    return rows.length;
  };

  const waitForWake = (ms: number) =>
    new Promise<void>((resolve) => {
      if (woken || stopped) {
        resolve();
        return;
      }
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wakeUp = undefined;
        resolve();
      }
      wakeUp = done;
    });

  const loop = async () => {
    let failures = 0;
    while (!stopped) {
      try {
        woken = false;
        if (!(await holdLease())) {
          await waitForWake(leaseMs / 2);
          continue;
        }
        publishing = publishBatch();
        const published = await publishing;
        failures = 0;
        if (published < batchSize) await waitForWake(pollIntervalMs);
      } catch (error) {
        failures += 1;
        leaseRenewedAt = 0;
        log.warn({ err: error, source, failures }, 'outbox relay failed to publish; retrying');
        await waitForWake(Math.min(5_000, 100 * 2 ** failures));
      }
    }
  };

  return {
    async start() {
      if (running) return;
      await installConsumerTables(db);
      stopped = false;
      running = loop();
    },
    wake() {
      woken = true;
      wakeUp?.();
    },
    async flush() {
      await publishing.catch(() => 0);
      let total = 0;
      for (;;) {
        const published = await publishBatch();
        total += published;
        if (published < batchSize) return total;
      }
    },
    async stop() {
      stopped = true;
      wakeUp?.();
      await running;
      running = undefined;
      await db
        .query(sql`delete from cads_outbox_lease where name = 'relay' and holder = ${holder}`)
        .catch((error: unknown) => log.warn({ err: error }, 'could not release the outbox lease'));
      leaseRenewedAt = 0;
    },
  };
}
