import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../database.ts';
import { migrate } from '../migrations.ts';
import { sql } from '../sql.ts';

export interface DatabaseContractHarness {
  /** A `Database` scoped to `schema` (created if missing) on the shared backing store. */
  open(schema: string): Promise<Database>;
  dispose(): Promise<void>;
}

async function waitUntil(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The behaviour every `Database` adapter must show. */
export function describeDatabaseContract(
  adapter: string,
  setup: () => Promise<DatabaseContractHarness>,
  options: { skip?: string | undefined } = {},
): void {
  const title = options.skip
    ? `Database contract: ${adapter} (skipped: ${options.skip})`
    : `Database contract: ${adapter}`;
  describe.skipIf(options.skip !== undefined)(title, () => {
    let harness: DatabaseContractHarness;
    let db: Database;
    beforeAll(async () => {
      harness = await setup();
      db = await harness.open(`contract_${randomUUID().slice(0, 8)}`);
    });
    afterAll(async () => {
      await db?.close();
      await harness?.dispose();
    });

    it('runs parameterised statements and maps PostgreSQL types to JavaScript', async () => {
      const { rows } = await db.query<{
        n: number;
        big: number;
        t: string;
        j: { a: number[] };
        at: Date;
        nothing: null;
      }>(
        sql`select ${41}::int + 1 as n, 9007199254740991::bigint as big, ${'x'}::text as t,
            ${JSON.stringify({ a: [1] })}::jsonb as j, now() as at, null as nothing`,
      );
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({
        n: 42,
        big: 9007199254740991,
        t: 'x',
        j: { a: [1] },
        nothing: null,
      });
      expect(rows[0]?.at).toBeInstanceOf(Date);
    });

    it('passes every kind of parameter unchanged, first in a transaction or not', async () => {
      const text = "it's \\ \"q\" $1 -- '' $$";
      const list = ['a"b', 'c\\d', null, "e'f", '{x}'];
      const doc = { k: "v'", n: [1, 2] };
      const at = new Date('2026-11-22T10:00:00.123Z');
      const statement = sql`select ${text}::text as s, ${42}::int as i, ${1.5}::float8 as f,
        ${true}::boolean as b, ${null}::text as n, ${list}::text[] as a,
        ${JSON.stringify(doc)}::jsonb as j, ${at}::timestamptz as t, ${'x'} as u`;
      const outside = await db.query(statement);
      const inside = await db.transaction((tx) => tx.query(statement));
      expect(outside.rows).toEqual([
        { s: text, i: 42, f: 1.5, b: true, n: null, a: list, j: doc, t: at, u: 'x' },
      ]);
      expect(inside.rows).toEqual(outside.rows);
    });

    it('reports the row count of writes', async () => {
      await db.query('create table counted (id int primary key)');
      const inserted = await db.query(
        sql`insert into counted select generate_series(1, ${3}::int)`,
      );
      expect(inserted.rowCount).toBe(3);
      const deleted = await db.query(sql`delete from counted where id > ${1}`);
      expect(deleted.rowCount).toBe(2);
    });

    it('reports the row count of reads, the first run of a statement and the next ones alike', async () => {
      await db.query('create table read_counted (id int primary key)');
      await db.query('insert into read_counted select generate_series(1, 5)');
      const read = (queryable: Pick<Database, 'query'>) =>
        queryable.query(sql`select id from read_counted where id <= ${3}`);
      for (const result of [await read(db), await read(db), await db.transaction(read)]) {
        expect(result.rowCount).toBe(3);
        expect(result.rows).toHaveLength(3);
      }
    });

    it("keeps a PostgreSQL error's code, and the real error when a new statement fails twice at once", async () => {
      await db.query('create table unique_ids (id int primary key)');
      await db.query(sql`insert into unique_ids values (${1})`);
      await expect(db.query(sql`insert into unique_ids values (${1})`)).rejects.toMatchObject({
        code: '23505',
      });
      // Both calls go out before the first has run: neither may fail for another reason.
      const missing = sql`select * from no_such_table where id = ${1}`;
      const results = await Promise.allSettled([db.query(missing), db.query(missing)]);
      for (const result of results) {
        expect(result.status).toBe('rejected');
        expect((result as PromiseRejectedResult).reason).toMatchObject({ code: '42P01' });
      }
    });

    it('keeps running a statement after its table changed under it, at once outside a transaction', async () => {
      await db.query('create table altered (id int primary key)');
      await db.query('insert into altered values (1)');
      const read = (queryable: Pick<Database, 'query'>) =>
        queryable.query(sql`select * from altered where id = ${1}`);
      // Several runs, so that every connection a pool would use has prepared it.
      await Promise.all(Array.from({ length: 12 }, () => read(db)));
      await db.query("alter table altered add column extra text default 'x'");
      expect((await read(db)).rows).toEqual([{ id: 1, extra: 'x' }]);
      // In a transaction a stale statement aborts it; run again, it succeeds.
      const again = async (): Promise<unknown[]> => {
        try {
          return (await db.transaction(read)).rows;
        } catch {
          return (await db.transaction(read)).rows;
        }
      };
      for (let i = 0; i < 12; i += 1) expect(await again()).toEqual([{ id: 1, extra: 'x' }]);
    });

    it('runs many statements and transactions of two schemas at once, each with its own result', async () => {
      const other = await harness.open(`contract_${randomUUID().slice(0, 8)}`);
      try {
        await db.query('create table busy (v int)');
        await other.query('create table busy (v int)');
        const writes = Array.from({ length: 40 }, (_, i) => {
          const target = i % 2 === 0 ? db : other;
          return i % 4 < 2
            ? target.query(sql`insert into busy values (${i}) returning v`)
            : target.transaction(async (tx) => {
                await tx.query(sql`insert into busy values (${i})`);
                return tx.query(sql`select ${i}::int as v`);
              });
        });
        const results = await Promise.all(writes);
        expect(results.map((result) => (result.rows[0] as { v: number }).v)).toEqual(
          Array.from({ length: 40 }, (_, i) => i),
        );
        const values = async (target: Database) =>
          (await target.query<{ v: number }>('select v from busy order by v')).rows.map(
            (row) => row.v,
          );
        const all = Array.from({ length: 40 }, (_, i) => i);
        expect(await values(db)).toEqual(all.filter((i) => i % 2 === 0));
        expect(await values(other)).toEqual(all.filter((i) => i % 2 === 1));
      } finally {
        await other.close();
      }
    });

    it('runs a script of several statements when given no values', async () => {
      await db.query('create table scripted (id int); insert into scripted values (1), (2);');
      const { rows } = await db.query<{ count: number }>(
        'select count(*)::int as count from scripted',
      );
      expect(rows[0]?.count).toBe(2);
    });

    it('commits a transaction that resolves and rolls back one that throws', async () => {
      await db.query('create table ledger (id text primary key)');
      await db.transaction(async (tx) => {
        await tx.query(sql`insert into ledger values (${'kept'})`);
      });
      await expect(
        db.transaction(async (tx) => {
          await tx.query(sql`insert into ledger values (${'lost'})`);
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      await expect(
        db.transaction(async (tx) => {
          await tx.query(sql`insert into ledger values (${'also-lost'})`);
          await tx.query(sql`insert into ledger values (${'kept'})`);
        }),
      ).rejects.toThrow();
      const { rows } = await db.query<{ id: string }>('select id from ledger order by id');
      expect(rows.map((r) => r.id)).toEqual(['kept']);
    });

    it('serialises concurrent transactions on the same row without losing updates', async () => {
      await db.query('create table counter (id int primary key, n int not null)');
      await db.query('insert into counter values (1, 0)');
      await Promise.all(
        Array.from({ length: 20 }, () =>
          db.transaction(async (tx) => {
            const { rows } = await tx.query<{ n: number }>(
              'select n from counter where id = 1 for update',
            );
            await tx.query(sql`update counter set n = ${(rows[0]?.n ?? 0) + 1} where id = 1`);
          }),
        ),
      );
      const { rows } = await db.query<{ n: number }>('select n from counter where id = 1');
      expect(rows[0]?.n).toBe(20);
    });

    it('opens the same new schema from several places at once', async () => {
      const schema = `contract_${randomUUID().slice(0, 8)}`;
      const opened = await Promise.all(Array.from({ length: 4 }, () => harness.open(schema)));
      try {
        const { rows } = await opened[0]!.query<{ n: number }>('select 1 as n');
        expect(rows[0]?.n).toBe(1);
      } finally {
        for (const db of opened) await db.close();
      }
    });

    it('keeps schemas apart: the same table name in two schemas holds different rows', async () => {
      const other = await harness.open(`contract_${randomUUID().slice(0, 8)}`);
      try {
        await db.query('create table shared_name (v text)');
        await other.query('create table shared_name (v text)');
        await db.query(sql`insert into shared_name values (${'mine'})`);
        await other.query(sql`insert into shared_name values (${'theirs'})`);
        const interleaved = await Promise.all([
          db.query<{ v: string }>('select v from shared_name'),
          other.query<{ v: string }>('select v from shared_name'),
          db.transaction((tx) => tx.query<{ v: string }>('select v from shared_name')),
        ]);
        expect(interleaved.map((r) => r.rows[0]?.v)).toEqual(['mine', 'theirs', 'mine']);
      } finally {
        await other.close();
      }
    });

    it('keeps schemas apart across rolled-back transactions and failed statements', async () => {
      const other = await harness.open(`contract_${randomUUID().slice(0, 8)}`);
      try {
        await db.query('create table apart (v text)');
        await other.query('create table apart (v text)');
        await db.query(sql`insert into apart values (${'mine'})`);
        await other.query(sql`insert into apart values (${'theirs'})`);
        const read = (target: Database) =>
          target.query<{ v: string }>('select v from apart').then((r) => r.rows[0]?.v);
        // Each of these switches schemas and then fails; the next statements must still
        // resolve unqualified names in their own schema.
        expect(await read(db)).toBe('mine');
        await expect(
          other.transaction(async (tx) => {
            await tx.query(sql`insert into apart values (${'rolled back'})`);
            throw new Error('abort');
          }),
        ).rejects.toThrow('abort');
        expect(await read(other)).toBe('theirs');
        expect(await read(db)).toBe('mine');
        // A transaction that runs no statement still leaves the next one in its schema.
        expect(await other.transaction(() => Promise.resolve('nothing run'))).toBe('nothing run');
        expect(await read(other)).toBe('theirs');
        await expect(other.query(sql`select ${1}::int / 0`)).rejects.toThrow();
        expect(await Promise.all([read(db), read(other), read(db)])).toEqual([
          'mine',
          'theirs',
          'mine',
        ]);
        const { rows } = await other.query<{ n: number }>('select count(*)::int as n from apart');
        expect(rows[0]?.n).toBe(1);
      } finally {
        await other.close();
      }
    });

    it('delivers notifications of committed transactions only', async () => {
      const channel = `contract_${randomUUID().slice(0, 8)}`;
      const heard: string[] = [];
      const unlisten = await db.listen(channel, (payload) => heard.push(payload));
      try {
        await db
          .transaction(async (tx) => {
            await tx.query(sql`select pg_notify(${channel}, ${'rolled-back'})`);
            throw new Error('abort');
          })
          .catch(() => undefined);
        await db.transaction(async (tx) => {
          await tx.query(sql`select pg_notify(${channel}, ${'committed'})`);
        });
        await waitUntil(() => heard.length > 0);
        expect(heard).toEqual(['committed']);
      } finally {
        await unlisten();
      }
    });

    it('applies migrations once, in order, and refuses an edited one', async () => {
      const migrations = [
        { version: 2, name: 'add_b', sql: 'alter table migrated add column b text;' },
        { version: 1, name: 'create', sql: 'create table migrated (a int);' },
      ];
      const first = await Promise.all([
        migrate(db, 'contract', migrations),
        migrate(db, 'contract', migrations),
      ]);
      expect(first.map((r) => r.applied).sort()).toEqual([[], [1, 2]]);
      await db.query(`insert into migrated (a, b) values (1, 'x')`);
      await expect(
        migrate(db, 'contract', [{ ...migrations[1]!, sql: 'create table migrated (z int);' }]),
      ).rejects.toThrow(/changed after it was applied/);
    });
  });
}
