import { loadMigrations, migrate, type Database } from '@cads/storage';

const migrationsDirectory = new URL('../migrations/', import.meta.url);

/**
 * Creates or upgrades the runtime's tables (inbox, outbox, outbox lease, dead letters) in the
 * database's schema. Idempotent and safe when several instances start at once.
 */
export async function installConsumerTables(db: Database): Promise<void> {
  await migrate(db, 'cads.consumer', await loadMigrations(migrationsDirectory));
}
