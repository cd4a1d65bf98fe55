import { defineSaga, defineStep } from '@cads/saga';
import { type Database, sql, type Transaction } from '@cads/storage';
import { sleep } from '@cads/messaging/testing';
import { pino } from 'pino';
import Type from 'typebox';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tableOutbox } from '@cads/consumer';
import type { Message } from '@cads/messaging';
import { createTestbed, type Testbed } from './testing/index.ts';
import { countDueDeadlines, installSagaDeadlineTables, sagaDeadlines } from './saga-deadlines.ts';
import type { ServiceDefinition } from './service.ts';

const Ref = { parcelId: Type.String(), customerId: Type.String() };
const parcelEvent = () => Type.Object(Ref);
const pack = defineStep({
  name: 'pack',
  label: 'Pack',
  input: Type.Object({ parcelId: Type.String() }),
  success: { type: 'parcel_packed', schema: parcelEvent() },
  failure: {
    type: 'packing_refused',
    schema: Type.Object({ ...Ref, why: Type.String() }),
    reasonField: 'why',
  },
  compensation: { type: 'parcel_unpacked', schema: parcelEvent() },
});
const saga = defineSaga({
  name: 'parcel',
  key: 'parcelId',
  start: { type: 'parcel_ordered', schema: parcelEvent(), producer: 'shop' },
  steps: [pack],
  deadline: {
    afterMs: 60_000,
    expired: {
      type: 'parcel_timed_out',
      schema: Type.Object({ ...Ref, because: Type.String() }),
      reasonField: 'because',
    },
  },
});

const startedAt = new Date('2026-01-01T12:00:00Z');

/**
 * A tracker that keeps each parcel's state in a table: `expire` fails a parcel that is still
 * open; an `ended` parcel is left alone.
 */
function trackerOf(clock: { now: number }) {
  const deadlines = sagaDeadlines(saga, {
    source: '/cads/shop',
    now: () => clock.now,
    pollMs: 20,
  });
  const expire = async (tx: Transaction, event: Message) => {
    const { parcelId } = event.data as { parcelId: string };
    const { rows } = await tx.query<{ state: string }>(
      sql`select state from parcels where parcel_id = ${parcelId} for update`,
    );
    if (rows[0]?.state !== 'open') return undefined;
    await tx.query(sql`update parcels set state = 'timed out' where parcel_id = ${parcelId}`);
    return event;
  };
  const definition: ServiceDefinition = {
    name: 'shop',
    runtimeTables: [
      installSagaDeadlineTables,
      async (db) => {
        await db.query(
          sql`create table if not exists parcels (parcel_id text primary key, state text not null)`,
        );
      },
    ],
    run: (context) => Promise.resolve(deadlines.start(context, expire)),
  };
  return { deadlines, expire, definition };
}

async function place(db: Database, tracker: ReturnType<typeof trackerOf>, parcelId: string) {
  await db.transaction(async (tx) => {
    await tx.query(sql`insert into parcels values (${parcelId}, 'open')`);
    await tracker.deadlines.arm(tx, {
      sagaId: parcelId,
      startedAt,
      carried: { customerId: `c-${parcelId}` },
      correlationid: `c-${parcelId}-${parcelId}`,
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    });
  });
}

const stateOf = async (db: Database, parcelId: string) =>
  (await db.query<{ state: string }>(sql`select state from parcels where parcel_id = ${parcelId}`))
    .rows[0]?.state;

describe('saga deadlines', () => {
  let testbed: Testbed;
  beforeEach(async () => {
    testbed = await createTestbed();
  });
  afterEach(async () => {
    await testbed.close();
  });

  it('fire once, through the outbox, after a restart between arming and firing', async () => {
    const clock = { now: startedAt.getTime() };
    const first = trackerOf(clock);
    const recorder = await testbed.record(['parcel_timed_out']);
    const running = await testbed.start(first.definition);
    await place(running.db, first, 'p1');
    await place(running.db, first, 'p2');
    await place(running.db, first, 'p3');
    // p2 ends before its deadline: its end disarms it. p3 ends without disarming: the tracker
    // sees it ended when the deadline fires, and nothing is emitted.
    await running.db.transaction(async (tx) => {
      await tx.query(sql`update parcels set state = 'completed' where parcel_id in ('p2', 'p3')`);
      await first.deadlines.disarm(tx, 'p2');
    });
    clock.now += 59_999;
    await sleep(200);
    expect(recorder.messages).toEqual([]);

    // The process stops; another one (a new tracker, the same database) takes over.
    await running.service.stop();
    const second = trackerOf(clock);
    clock.now += 1;
    const restarted = await testbed.start(second.definition);

    const fired = await recorder.next('p1', 'parcel_timed_out');
    expect(fired).toMatchObject({
      source: '/cads/shop',
      subject: 'p1',
      correlationid: 'c-p1-p1',
      data: { parcelId: 'p1', customerId: 'c-p1', because: 'timed out' },
    });
    expect(fired.traceparent).toMatch(/^00-0af7651916cd43dd8448eb211c80319c-/);
    expect(await stateOf(restarted.db, 'p1')).toBe('timed out');
    expect(await stateOf(restarted.db, 'p3')).toBe('completed');

    // Nothing is left to fire, now or later: at most once.
    clock.now += 3_600_000;
    const context = { db: restarted.db, outbox: tableOutbox(), log: pino({ level: 'silent' }) };
    expect(await second.deadlines.fireDue(context, second.expire)).toBe(0);
    await sleep(200);
    expect(recorder.messages.map((message) => message.subject)).toEqual(['p1']);
    const { rows } = await restarted.db.query(sql`select * from cads_saga_deadlines`);
    expect(rows).toEqual([]);
  });

  it('counts the deadlines due at a time, and none where the table is not installed', async () => {
    const tracker = trackerOf({ now: startedAt.getTime() });
    const shop = await testbed.start({ ...tracker.definition, run: undefined });
    const other = await testbed.start({ name: 'other' });
    await place(shop.db, tracker, 'p1');
    const dueAt = new Date(startedAt.getTime() + tracker.deadlines.afterMs);

    expect(await countDueDeadlines(shop.db, new Date(dueAt.getTime() - 1))).toBe(0);
    expect(await countDueDeadlines(shop.db, dueAt)).toBe(1);
    expect(await countDueDeadlines(other.db, dueAt)).toBeUndefined();
  });

  it('refuses to arm a deadline whose event would break its contract', async () => {
    const tracker = trackerOf({ now: startedAt.getTime() });
    const running = await testbed.start(tracker.definition);
    await expect(
      running.db.transaction((tx) =>
        tracker.deadlines.arm(tx, { sagaId: 'p9', startedAt, carried: {} }),
      ),
    ).rejects.toThrow(/parcel_timed_out of p9 would break its contract/);
  });

  it('tries a deadline that failed to fire again later, without holding up the others', async () => {
    const clock = { now: startedAt.getTime() };
    const tracker = trackerOf(clock);
    const { run: _polls, ...polledByHand } = tracker.definition;
    const running = await testbed.start(polledByHand);
    await place(running.db, tracker, 'bad');
    await place(running.db, tracker, 'good');
    clock.now += 60_000;
    const errors: unknown[] = [];
    const log = pino({ level: 'error' }, { write: (line: string) => errors.push(line) });
    const context = { db: running.db, outbox: tableOutbox(), log };
    const expire = (tx: Transaction, event: Message) => {
      if (event.subject === 'bad') throw new Error('tracker bug');
      return tracker.expire(tx, event);
    };
    expect(await tracker.deadlines.fireDue(context, expire)).toBe(1);
    expect(errors).toHaveLength(1);
    expect(await stateOf(running.db, 'good')).toBe('timed out');
    expect(await stateOf(running.db, 'bad')).toBe('open');
    const { rows } = await running.db.query<{ saga_id: string; attempts: number; due_at: Date }>(
      sql`select saga_id, attempts, due_at from cads_saga_deadlines`,
    );
    expect(rows).toMatchObject([{ saga_id: 'bad', attempts: 1 }]);
    expect(new Date(rows[0]!.due_at).getTime()).toBe(clock.now + 1_000);
    // Not due again yet; once due, a sound tracker fires it.
    expect(await tracker.deadlines.fireDue(context, expire)).toBe(0);
    clock.now += 1_000;
    expect(await tracker.deadlines.fireDue(context, tracker.expire)).toBe(1);
    expect(await stateOf(running.db, 'bad')).toBe('timed out');
  });
});
