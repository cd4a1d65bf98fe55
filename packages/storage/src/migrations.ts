import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import type { Database } from './database.ts';
import { sql } from './sql.ts';

/** One numbered schema change. Applied migrations must never be edited (checksums catch it). */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

const fileName = /^(\d+)_([a-z0-9_-]+)\.sql$/;

/** Reads `NNN_name.sql` files of a directory (e.g. `new URL('../migrations', import.meta.url)`). */
export async function loadMigrations(directory: string | URL): Promise<Migration[]> {
  const files = (await readdir(directory)).filter((file) => file.endsWith('.sql')).sort();
  const base = typeof directory === 'string' ? directory : directory.pathname;
  const migrations: Migration[] = [];
  for (const file of files) {
    const match = fileName.exec(file);
    if (!match) throw new Error(`migration file ${file} is not named NNN_name.sql`);
    migrations.push({
      version: Number(match[1]),
      name: match[2] ?? file,
      sql: await readFile(`${base.replace(/\/$/, '')}/${file}`, 'utf8'),
    });
  }
  return migrations;
}

export interface MigrationReport {
  readonly applied: readonly number[];
}

/**
 * Brings `component`'s tables in the database's schema up to the newest migration.
 *
 * Guarantees: all pending migrations apply in one transaction (all or none); concurrent
 * callers (several instances starting together) are serialised by an advisory lock, so each
 * migration applies once; an applied migration whose text changed fails loudly.
 */
export async function migrate(
  db: Database,
  component: string,
  migrations: readonly Migration[],
): Promise<MigrationReport> {
  const versions = migrations.map((m) => m.version);
  if (new Set(versions).size !== versions.length) {
    throw new Error(`${component}: duplicate migration versions ${versions.join(', ')}`);
  }
  const ordered = [...migrations].sort((a, b) => a.version - b.version);
  return db.transaction(async (tx) => {
    await tx.query(sql`select pg_advisory_xact_lock(hashtext(${`cads.migrate.${db.schema}`}))`);
    await tx.query(`create table if not exists cads_migrations (
      component text not null,
      version integer not null,
      name text not null,
      checksum text not null,
      applied_at timestamptz not null default now(),
      primary key (component, version)
    )`);
    const { rows } = await tx.query<{ version: number; checksum: string }>(
      sql`select version, checksum from cads_migrations where component = ${component}`,
    );
    const done = new Map(rows.map((row) => [row.version, row.checksum]));
    const applied: number[] = [];
    for (const migration of ordered) {
      const checksum = createHash('sha256').update(migration.sql).digest('hex');
      const previous = done.get(migration.version);
      if (previous !== undefined) {
        if (previous !== checksum) {
          throw new Error(
            `${component}: migration ${migration.version}_${migration.name} changed after it was applied`,
          );
        }
        continue;
      }
      await tx.query(migration.sql);
      await tx.query(
        sql`insert into cads_migrations (component, version, name, checksum)
            values (${component}, ${migration.version}, ${migration.name}, ${checksum})`,
      );
      applied.push(migration.version);
    }
    return { applied };
  });
}
