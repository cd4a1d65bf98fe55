import {
  createMessage,
  type Delivery,
  type Message,
  type SubscriptionHandle,
  keyOf,
} from '@cads/messaging';
import { waitFor } from '@cads/messaging/testing';
import { type Database, sql } from '@cads/storage';
import { uniqueName } from '@cads/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createPostgresBroker,
  type PostgresBroker,
  type PostgresBrokerOptions,
} from './postgres-broker.ts';

/** A backing store for the adapter-specific scenarios: every `open()` sees the same tables. */
export interface ScenarioHarness {
  /** A database on the shared store, in `schema` (default: the harness's broker schema). */
  open(schema?: string): Promise<Database>;
  dispose(): Promise<void>;
}

/** Behaviour of this adapter beyond the port's contract, run on PGlite and on PostgreSQL. */
export function describeBrokerScenarios(
  backend: string,
  setup: () => Promise<ScenarioHarness>,
  options: { skip?: string | undefined } = {},
): void {
  describe.skipIf(options.skip !== undefined)(`Postgres broker scenarios: ${backend}`, () => {
    let harness: ScenarioHarness;
    let db: Database;
    const brokers: PostgresBroker[] = [];
    const handles: SubscriptionHandle[] = [];

    beforeAll(async () => {
      harness = await setup();
      db = await harness.open();
    });
    afterEach(async () => {
      for (const handle of handles.splice(0)) await handle.stop();
      for (const broker of brokers.splice(0)) await broker.close();
    });
    afterAll(async () => {
      await harness?.dispose();
    });

    const connect = async (
      overrides: Partial<PostgresBrokerOptions> = {},
    ): Promise<PostgresBroker> => {
      const broker = await createPostgresBroker({ db: await harness.open(), ...overrides });
      brokers.push(broker);
      return broker;
    };
    const event = (type: string, subject: string, n: number) =>
      createMessage({ type, source: '/scenario', subject, data: { n } });
    const dataOf = (delivery: Delivery) => (delivery.body as Message<{ n: number }>).data.n;
    const groupsNamed = async (prefix: string) => {
      const { rows } = await db.query<{ count: number }>(
        sql`select count(*)::int as count from broker_group where name like ${`${prefix}@%`}`,
      );
      return rows[0]?.count ?? 0;
    };

    it('keeps strict per-key order across two competing members', async () => {
      const type = uniqueName('keyed');
      const group = uniqueName('g');
      const active = new Map<string, number>();
      const handled = new Map<string, number[]>();
      const perMember = [0, 0];
      const overlaps: string[] = [];
      const subscribeMember = async (member: number) => {
        const broker = await connect();
        const handler = async (delivery: Delivery) => {
          const key = keyOf(delivery.body) ?? '';
          if ((active.get(key) ?? 0) > 0) overlaps.push(key);
          active.set(key, (active.get(key) ?? 0) + 1);
          perMember[member] = (perMember[member] ?? 0) + 1;
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 4));
          handled.set(key, [...(handled.get(key) ?? []), dataOf(delivery)]);
          active.set(key, (active.get(key) ?? 1) - 1);
          await delivery.ack();
        };
        handles.push(
          await broker.subscribe(
            { group, types: [type], mode: 'competing', maxInFlight: 4 },
            handler,
          ),
        );
        return broker;
      };
      const publisher = await subscribeMember(0);
      await subscribeMember(1);
      const keys = Array.from({ length: 20 }, (_, k) => `key-${k}`);
      let total = 0;
      for (let batch = 0; batch < 10; batch += 1) {
        await publisher.publish(keys.map((key) => event(type, key, batch)));
        total += keys.length;
      }
      await waitFor(
        `${total} handled`,
        () => [...handled.values()].reduce((sum, list) => sum + list.length, 0) >= total,
      );
      expect(overlaps).toEqual([]);
      for (const key of keys) expect(handled.get(key)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(perMember.every((count) => count > 0)).toBe(true);
    });

    it('drops a broadcast group on stop, and expires the group of a process that died', async () => {
      const type = uniqueName('bcast');
      const group = uniqueName('b');
      const stopped = await connect();
      const handle = await stopped.subscribe({ group, types: [type], mode: 'broadcast' }, (d) =>
        d.ack(),
      );
      expect(await groupsNamed(group)).toBe(1);
      await handle.stop();
      expect(await groupsNamed(group)).toBe(0);

      // A "dead" process: it never heartbeats, and its group looks long unseen.
      const dead = await connect({ heartbeatIntervalMs: 3_600_000 });
      const received: number[] = [];
      handles.push(
        await dead.subscribe({ group, types: [type], mode: 'broadcast' }, async (d) => {
          received.push(dataOf(d));
          await d.ack();
        }),
      );
      await db.query(
        sql`update broker_group set seen_at = now() - interval '1 hour' where name like ${`${group}@%`}`,
      );
      await connect({ heartbeatIntervalMs: 20, broadcastExpiryMs: 10_000 });
      await waitFor('the dead group to expire', async () => (await groupsNamed(group)) === 0);
      // If the process was only paused, it recreates its group and goes on receiving.
      await waitFor('the group to be recreated', async () => (await groupsNamed(group)) === 1);
      await dead.publish([event(type, 'k', 7)]);
      await waitFor('a delivery after recreation', () => received.includes(7));
    });

    it('delivers payloads that are not envelopes (or not JSON) as they are, and goes on', async () => {
      const type = uniqueName('poison');
      const group = uniqueName('g');
      const broker = await connect();
      const bodies: unknown[] = [];
      handles.push(
        await broker.subscribe({ group, types: [type], mode: 'competing' }, async (d) => {
          bodies.push(d.body);
          await d.ack();
        }),
      );
      await broker.publish([{ id: uniqueName('id'), type, hello: 1 } as unknown as Message]);
      await db.query(sql`
        with head as (update broker_head set position = position + 1 returning position)
        insert into broker_log (position, id, type, key, payload)
        select position, ${uniqueName('id')}, ${type}, null, 'not json {' from head`);
      const good = event(type, 'k', 3);
      await broker.publish([good]);
      await waitFor('3 deliveries', () => bodies.length >= 3);
      expect(bodies[0]).toMatchObject({ type, hello: 1 });
      expect(bodies[1]).toBe('not json {');
      expect(bodies[2]).toEqual(good);
    });

    it('accepts settles after stop() (draining) and refuses them after close()', async () => {
      const type = uniqueName('drain');
      const group = uniqueName('g');
      const broker = await connect({ pollIntervalMs: 50 });
      const held: Delivery[] = [];
      const handle = await broker.subscribe({ group, types: [type], mode: 'competing' }, (d) => {
        held.push(d);
      });
      await broker.publish([event(type, 'a', 0), event(type, 'b', 1)]);
      await waitFor('2 deliveries', () => held.length >= 2);
      await handle.stop();
      await held[0]?.ack();
      await broker.close();
      await expect(held[1]?.ack()).rejects.toThrow(/closed/);

      // The acked one is done; the other was given back on close and comes at once.
      const next = await connect();
      const redelivered: Array<[number, number]> = [];
      handles.push(
        await next.subscribe({ group, types: [type], mode: 'competing' }, async (d) => {
          redelivered.push([dataOf(d), d.attempt]);
          await d.ack();
        }),
      );
      await waitFor('the redelivery', () => redelivered.length >= 1, { timeoutMs: 5_000 });
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(redelivered).toEqual([[1, 2]]);
    });

    it('retries the delivery of a handler that throws, without stopping the loop', async () => {
      const type = uniqueName('throws');
      const broker = await connect({ handlerErrorRetryMs: 50 });
      const attempts: Array<[number, number]> = [];
      handles.push(
        await broker.subscribe(
          { group: uniqueName('g'), types: [type], mode: 'competing' },
          async (d) => {
            attempts.push([dataOf(d), d.attempt]);
            if (dataOf(d) === 0 && d.attempt === 1) throw new Error('handler bug');
            await d.ack();
          },
        ),
      );
      await broker.publish([event(type, 'a', 0), event(type, 'b', 1)]);
      await waitFor('the retry', () => attempts.some(([n, attempt]) => n === 0 && attempt === 2));
      expect(attempts).toContainEqual([1, 1]);
    });

    it('wakes another process by notification, without waiting for a poll', async () => {
      const type = uniqueName('notify');
      const consumer = await connect({ pollIntervalMs: 60_000 });
      const received: number[] = [];
      handles.push(
        await consumer.subscribe(
          { group: uniqueName('g'), types: [type], mode: 'competing' },
          async (d) => {
            received.push(dataOf(d));
            await d.ack();
          },
        ),
      );
      // The first fetch happens at subscribe; later ones need a notification.
      await new Promise((resolve) => setTimeout(resolve, 100));
      const producer = await connect();
      await producer.publish([event(type, 'k', 1)]);
      await waitFor('the notified delivery', () => received.includes(1), { timeoutMs: 5_000 });
    });

    it('coalesces acks of the same tick into few statements', async () => {
      const type = uniqueName('acks');
      const { db: counting, count: settleStatements } = countingCalls(
        await harness.open(),
        'broker_settle(',
      );
      const broker = await createPostgresBroker({ db: counting });
      brokers.push(broker);
      const sent = Array.from({ length: 200 }, (_, n) => event(type, `k${n}`, n));
      await broker.publish(sent);
      let acked = 0;
      handles.push(
        await broker.subscribe(
          { group: uniqueName('g'), types: [type], mode: 'competing', maxInFlight: 200 },
          async (d) => {
            await d.ack();
            acked += 1;
          },
        ),
      );
      await waitFor('200 acks', () => acked >= 200);
      expect(settleStatements()).toBeLessThanOrEqual(10);
    });

    it('fetches after a settle only when the settle made a delivery claimable', async () => {
      const type = uniqueName('wake');
      const { db: counting, count: fetchStatements } = countingCalls(
        await harness.open(),
        'broker_fetch(',
      );
      // No polling: every fetch after the first is a wake-up.
      const broker = await createPostgresBroker({ db: counting, pollIntervalMs: 60_000 });
      brokers.push(broker);
      // Ten keys of one message each, and one key of three: only acks in `same` unblock.
      await broker.publish([
        ...Array.from({ length: 10 }, (_, n) => event(type, `k${n}`, n)),
        ...Array.from({ length: 3 }, (_, n) => event(type, 'same', 100 + n)),
      ]);
      const received: number[] = [];
      handles.push(
        await broker.subscribe(
          { group: uniqueName('g'), types: [type], mode: 'competing', maxInFlight: 64 },
          async (d) => {
            received.push(dataOf(d));
            // Acks one by one, each its own settle statement.
            await new Promise((resolve) => setTimeout(resolve, 5 * received.length));
            await d.ack();
          },
        ),
      );
      await waitFor('13 deliveries', () => received.length >= 13, { timeoutMs: 5_000 });
      expect(received.filter((n) => n >= 100)).toEqual([100, 101, 102]);
      await new Promise((resolve) => setTimeout(resolve, 200));
      // The first fetch, one after each of the two unblocking acks, and at most one more for
      // a publish or settle racing with them: not one per ack.
      expect(fetchStatements()).toBeLessThanOrEqual(4);
    });

    it("appends within another schema's transaction: delivered on commit, never on rollback", async () => {
      const type = uniqueName('within');
      // No polling: the commit's notification must wake the subscription.
      const broker = await connect({ pollIntervalMs: 60_000 });
      const service = await harness.open(uniqueName('svc'));
      await service.query('create table things (n int primary key)');
      const received: number[] = [];
      handles.push(
        await broker.subscribe(
          { group: uniqueName('g'), types: [type], mode: 'competing' },
          async (d) => {
            received.push(dataOf(d));
            await d.ack();
          },
        ),
      );
      await expect(
        service.transaction(async (tx) => {
          await tx.query(sql`insert into things values (${1})`);
          await broker.appendWithin(tx, [event(type, 'a', 1)]);
          throw new Error('abort');
        }),
      ).rejects.toThrow('abort');
      await service.transaction(async (tx) => {
        await tx.query(sql`insert into things values (${2})`);
        await broker.appendWithin(tx, [event(type, 'a', 2), event(type, 'b', 3)]);
      });
      await waitFor('the committed messages', () => received.length >= 2, { timeoutMs: 5_000 });
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(received).toEqual([2, 3]);
      // The service's own tables stayed its own: the broker's function did not look there.
      const { rows } = await service.query<{ n: number }>('select n from things');
      expect(rows).toEqual([{ n: 2 }]);
    });

    it('spaces the fetches of a subscription by fetchIntervalMs, delivering everything', async () => {
      const type = uniqueName('spaced');
      const { db: counting, count: fetchStatements } = countingCalls(
        await harness.open(),
        'broker_fetch(',
      );
      const broker = await createPostgresBroker({
        db: counting,
        pollIntervalMs: 60_000,
        fetchIntervalMs: 300,
      });
      brokers.push(broker);
      const received: number[] = [];
      handles.push(
        await broker.subscribe(
          { group: uniqueName('g'), types: [type], mode: 'competing' },
          async (d) => {
            received.push(dataOf(d));
            await d.ack();
          },
        ),
      );
      const before = fetchStatements();
      const started = Date.now();
      // Twenty publishes, each waking the subscription, within well under one interval.
      for (let n = 0; n < 20; n += 1) await broker.publish([event(type, `k${n}`, n)]);
      await waitFor('20 deliveries', () => received.length >= 20, { timeoutMs: 5_000 });
      const elapsed = Date.now() - started;
      expect(received.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, n) => n));
      // At most one fetch per interval started since (plus the one already due).
      expect(fetchStatements() - before).toBeLessThanOrEqual(Math.ceil(elapsed / 300) + 1);
    });

    it('prunes only entries old enough that every group has settled', async () => {
      const type = uniqueName('prune');
      // A schema of its own: other scenarios' groups would hold retention back.
      const own = await harness.open(uniqueName('prune'));
      const broker = await createPostgresBroker({ db: own });
      brokers.push(broker);
      await broker.publish(Array.from({ length: 5 }, (_, n) => event(type, 'k', n)));
      const settled: number[] = [];
      handles.push(
        await broker.subscribe(
          { group: uniqueName('g'), types: [type], mode: 'competing' },
          async (d) => {
            // The last one stays unsettled: it must survive pruning.
            if (dataOf(d) < 4) await d.ack();
            settled.push(dataOf(d));
          },
        ),
      );
      await waitFor('5 deliveries', () => settled.length >= 5);
      expect(await broker.prune({ olderThanMs: 3_600_000 })).toBe(0);
      expect(await broker.prune({ olderThanMs: 0 })).toBe(4);
      const { rows } = await own.query<{ n: number }>(
        sql`select (payload::jsonb -> 'data' ->> 'n')::int as n from broker_log`,
      );
      expect(rows).toEqual([{ n: 4 }]);
    });
  });
}

/** `inner`, counting the statements that call the broker function `call` (e.g. `broker_fetch(`). */
function countingCalls(inner: Database, call: string): { db: Database; count: () => number } {
  let calls = 0;
  const db: Database = {
    ...inner,
    query: (statement, values) => {
      const text = typeof statement === 'string' ? statement : statement.text;
      if (text.includes(call)) calls += 1;
      return inner.query(statement, values);
    },
  };
  return { db, count: () => calls };
}
