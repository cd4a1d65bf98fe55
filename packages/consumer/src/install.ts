import { loadMigrations, migrate, type Database } from '@cads/storage';

const migrationsDirectory = new URL('../migrations/', import.meta.url);

/**
 * Creates or upgrades the runtime's tables (inbox, outbox, outbox lease, dead letters) in the
 * database's schema. Idempotent and safe when several instances start at once.
 */
export async function installConsumerTables(db: Database): Promise<void> {
  await migrate(db, 'cads.consumer', await loadMigrations(migrationsDirectory));
}

/**
 * Resolves when the database takes a write and commits it, as the service's own work would:
 * the readiness check. A database that answers reads but cannot write — disk full, put
 * read-only, a standby — rejects here. Needs the runtime's tables.
 */
export async function checkWritable(db: Database): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query(
      `insert into cads_health (singleton, checked_at) values (true, now())
       on conflict (singleton) do update set checked_at = excluded.checked_at`,
    );
  });
}
