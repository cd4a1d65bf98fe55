import { createStepStore, installSagaStepTables } from '@cads/service';
import {
  type Database,
  loadMigrations,
  migrate,
  type Migration,
  type Queryable,
  sql,
} from '@cads/storage';
import { openPglite, type PgliteHost } from '@cads/storage-pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

export interface SeedTableMigration {
  /** The step service, its step and its schema name. */
  readonly service: string;
  /** The seed's table of the step, e.g. `rider_assignments`. */
  readonly table: string;
  /** The service's migrations folder (its first migration creates the seed table). */
  readonly migrations: URL;
  /** The service's status reader (`read*Status`): 0/4/5, -1 without a record. */
  readStatus(db: Queryable, orderId: string): Promise<number>;
}

/**
 * The contract every food step service's move to the saga step runtime keeps (its
 * `002_saga_steps` migration): a data directory from before it keeps every record readable in
 * the seed's table with the same codes and columns, the runtime sees them with named statuses
 * and the ids a release sends, and the seed table stays writable for tools.
 */
export function describeSeedTableMigration(subject: SeedTableMigration): void {
  const table = sql.id(subject.table);
  let host: PgliteHost;
  let db: Database;
  let migrations: Migration[];

  const readAll = async () =>
    (
      await db.query(
        sql`select order_id, user_id, status, compensated_before_forward, reason, details,
                   created_at, updated_at
            from ${table} order by order_id`,
      )
    ).rows;

  beforeAll(async () => {
    host = await openPglite();
    db = await host.database(subject.service);
    migrations = await loadMigrations(subject.migrations);
    // A data directory from before the saga step runtime: only the first migration applied.
    await migrate(
      db,
      subject.service,
      migrations.filter((migration) => migration.version === 1),
    );
    await db.query(
      sql`insert into ${table}
            (order_id, user_id, status, compensated_before_forward, reason, details, created_at)
          values ('o-reserved', 'u1', 0, false, null, '{"priceCents": 5230}'::jsonb, now() - interval '1 hour'),
                 ('o-rejected', 'u2', 4, false, 'refused', null, now() - interval '2 hours'),
                 ('o-released', 'u3', 5, false, null, '{"priceCents": 900}'::jsonb, now()),
                 ('o-tombstone', 'u4', 5, true, null, null, now())`,
    );
  });

  afterAll(async () => {
    await host?.close();
  });

  describe(`${subject.service}: the move to the saga step runtime (002_saga_steps)`, () => {
    it('keeps every record readable as before, with the same codes and columns', async () => {
      const before = await readAll();
      await installSagaStepTables(db);
      await migrate(db, subject.service, migrations);
      expect(await readAll()).toEqual(before);
      expect(await subject.readStatus(db, 'o-rejected')).toBe(4);
      expect(await subject.readStatus(db, 'o-unknown')).toBe(-1);
    });

    it('gives the runtime named statuses, and the ids a release sends as the input', async () => {
      const store = createStepStore(subject.service);
      expect(await store.find(db, 'o-reserved')).toEqual({
        status: 'succeeded',
        compensatedBeforeForward: false,
        input: { orderId: 'o-reserved', userId: 'u1' },
      });
      expect(await store.find(db, 'o-rejected')).toMatchObject({ status: 'rejected' });
      expect(await store.find(db, 'o-tombstone')).toEqual({
        status: 'compensated',
        compensatedBeforeForward: true,
      });
    });

    it('keeps the seed table writable for tools that repair or corrupt a record', async () => {
      await db.query(sql`update ${table} set status = 0 where order_id = 'o-released'`);
      await db.query(
        sql`insert into ${table} (order_id, user_id, status, updated_at)
            values ('o-ghost', 'nobody', 0, now() - interval '1 hour')`,
      );
      expect(await subject.readStatus(db, 'o-released')).toBe(0);
      const store = createStepStore(subject.service);
      expect(await store.find(db, 'o-ghost')).toMatchObject({
        status: 'succeeded',
        input: { orderId: 'o-ghost', userId: 'nobody' },
      });
      await db.query(sql`delete from ${table} where order_id = 'o-ghost'`);
      expect(await store.find(db, 'o-ghost')).toBeUndefined();
    });
  });
}
