import type { Queryable } from '@cads/storage';
import type { Logger } from '@cads/messaging';
import { heartbeat, pruneLog, vacuumBrokerTables } from './statements.ts';

export interface MaintenanceOptions {
  readonly db: Queryable;
  readonly log: Logger;
  /** The group rows this process keeps alive. */
  readonly groupIds: () => readonly number[];
  readonly intervalMs: number;
  readonly broadcastExpiryMs: number;
  readonly retentionMs: number | undefined;
  readonly vacuumIntervalMs: number;
}

/** Entries pruned per heartbeat: keeps each statement short; a backlog goes over several. */
const pruneBatch = 1_000;

/**
 * Every `intervalMs`: marks this process's groups alive and deletes the broadcast groups of
 * dead processes; prunes the log when a retention is set; and every `vacuumIntervalMs`
 * vacuums the churning tables, because PGlite runs no autovacuum (each delivery inserts,
 * updates and deletes a row, and without vacuum the table grows by ~90 bytes per message).
 * Failures are logged and retried on the next beat.
 */
export function startMaintenance(options: MaintenanceOptions): { stop(): Promise<void> } {
  const { db, log } = options;
  let lastVacuumAt = Date.now();
  let pruned = 0;
  let beating: Promise<void> | undefined;

  const beat = async (): Promise<void> => {
    await heartbeat(db, options.groupIds(), options.broadcastExpiryMs);
    if (options.retentionMs !== undefined) {
      pruned += await pruneLog(db, options.retentionMs, pruneBatch);
    }
    if (options.vacuumIntervalMs > 0 && Date.now() - lastVacuumAt >= options.vacuumIntervalMs) {
      lastVacuumAt = Date.now();
      // The log is insert-only until pruned: vacuuming it is only worth it afterwards.
      await vacuumBrokerTables(db, pruned > 0);
      pruned = 0;
    }
  };

  const timer = setInterval(() => {
    beating ??= beat()
      .catch((error: unknown) => log.warn({ err: error }, 'broker maintenance failed'))
      .finally(() => {
        beating = undefined;
      });
  }, options.intervalMs);
  // Maintenance alone must not keep a process alive.
  timer.unref();

  return {
    async stop() {
      clearInterval(timer);
      await beating;
    },
  };
}
