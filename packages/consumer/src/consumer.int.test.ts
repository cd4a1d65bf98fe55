import { randomUUID } from 'node:crypto';
import { type Broker, createMessage, type Delivery, type Message } from '@cads/messaging';
import { sleep, waitFor } from '@cads/messaging/testing';
import { type Database, sql } from '@cads/storage';
import Type from 'typebox';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createConsumer, type Consumer, type ConsumerOptions } from './consumer.ts';
import { listDeadLetters } from './dead-letters.ts';
import { RetryableError, TerminalError } from './errors.ts';
import { on } from './handler.ts';
import type { ConsumerMetrics, HandlerOutcome } from './observability.ts';
import type { Outbox } from './outbox.ts';
import { createOutboxRelay, type OutboxRelay } from './outbox-relay.ts';
import { runtimeHarnesses } from './testing/harnesses.ts';
import type { RuntimeHarness } from './testing/runtime-harness.ts';

const Created = Type.Object({ n: Type.Integer({ minimum: 0 }) }, { additionalProperties: false });

for (const { name, skip, setup } of await runtimeHarnesses()) {
  describe.skipIf(skip !== undefined)(
    `consumer runtime on ${name}${skip ? ` (skipped: ${skip})` : ''}`,
    () => {
      let harness: RuntimeHarness;
      const cleanup: Array<() => Promise<void>> = [];

      beforeAll(async () => {
        harness = await setup();
      });
      afterEach(async () => {
        for (const step of cleanup.splice(0).reverse()) await step();
      });
      afterAll(async () => {
        await harness?.dispose();
      });

      /** A service: its schema with an `effects` table, a broker, and a relay. */
      const service = async (label: string) => {
        const tag = `${label}_${randomUUID().slice(0, 8)}`;
        const db = await harness.openDb(tag);
        const broker = await harness.connectBroker();
        cleanup.push(async () => {
          await broker.close();
          await db.close();
        });
        await db.query(
          'create table effects (subject text primary key, count int not null, seen int[] not null)',
        );
        const relay = createOutboxRelay({ db, broker, source: tag, pollIntervalMs: 50 });
        return { tag, db, broker, relay };
      };
      const track = <T extends { stop(): Promise<void> }>(thing: T): T => {
        cleanup.push(() => thing.stop());
        return thing;
      };
      const effects = async (db: Database) => {
        const { rows } = await db.query<{ subject: string; count: number; seen: number[] }>(
          'select subject, count, seen from effects order by subject',
        );
        return rows;
      };
      /** Counts every handled `type` message per subject in its own schema. */
      const downstream = async (type: string) => {
        const sink = await service('sink');
        const consumer = track(
          createConsumer({
            name: sink.tag,
            source: sink.tag,
            db: sink.db,
            broker: sink.broker,
            handlers: {
              [type]: on(Created, async (message, { tx }) => {
                await recordEffect(tx, message);
              }),
            },
          }),
        );
        await consumer.start();
        return sink;
      };
      const newMessages = (type: string, subjects: string[], perSubject = 1) =>
        Array.from({ length: perSubject }, (_, n) =>
          subjects.map((subject) => createMessage({ type, source: '/test', subject, data: { n } })),
        ).flat();
      const outcomes = () => {
        const seen: HandlerOutcome[] = [];
        const metrics: ConsumerMetrics = {
          delivery: (_consumer, _type, outcome) => seen.push(outcome),
          published: () => undefined,
          circuit: () => undefined,
        };
        return { seen, metrics };
      };

      it('commits state and emitted events once per message, published by the relay', async () => {
        const svc = await service('svc');
        const created = `${svc.tag}_created`;
        const reserved = `${svc.tag}_reserved`;
        const sink = await downstream(reserved);
        track(svc.relay);
        await svc.relay.start();
        const consumer = track(
          createConsumer({
            name: svc.tag,
            source: `/${svc.tag}`,
            db: svc.db,
            broker: svc.broker,
            relay: svc.relay,
            handlers: {
              [created]: on(Created, async (message, { tx, emit }) => {
                await recordEffect(tx, message);
                emit({ type: reserved, data: { n: message.data.n } });
              }),
            },
          }),
        );
        await consumer.start();
        const subjects = Array.from({ length: 30 }, (_, i) => `key-${i}`);
        await svc.broker.publish(newMessages(created, subjects));
        await waitFor('30 downstream effects', async () => (await effects(sink.db)).length === 30);
        expect((await effects(svc.db)).every((row) => row.count === 1)).toBe(true);
        expect((await effects(sink.db)).every((row) => row.count === 1)).toBe(true);
        const { rows } = await svc.db.query<{ n: number }>(
          'select count(*)::int as n from cads_outbox',
        );
        expect(rows[0]?.n).toBe(0);
      });

      it('emits through a given outbox, in the handler transaction, told after each commit', async () => {
        const svc = await service('own');
        const created = `${svc.tag}_created`;
        const reserved = `${svc.tag}_reserved`;
        await svc.db.query('create table sent (id text primary key, type text not null)');
        let committed = 0;
        const outbox: Outbox = {
          async enqueue(tx, messages) {
            for (const message of messages) {
              await tx.query(sql`insert into sent values (${message.id}, ${message.type})`);
            }
          },
          committed: () => {
            committed += 1;
          },
        };
        const consumer = track(
          createConsumer({
            name: svc.tag,
            source: `/${svc.tag}`,
            db: svc.db,
            broker: svc.broker,
            outbox,
            retry: { baseDelayMs: 10, maxDelayMs: 20 },
            handlers: {
              [created]: on(Created, async (message, { tx, emit, attempt }) => {
                await recordEffect(tx, message);
                emit({ type: reserved, data: { n: message.data.n } });
                // The first attempt fails after emitting: what it enqueued rolls back with it.
                if (attempt === 1) throw new RetryableError('once');
              }),
            },
          }),
        );
        await consumer.start();
        await svc.broker.publish(newMessages(created, ['a', 'b']));
        await waitFor('both handled', async () => (await effects(svc.db)).length === 2);
        const { rows } = await svc.db.query<{ type: string }>('select type from sent');
        expect(rows).toEqual([{ type: reserved }, { type: reserved }]);
        expect(committed).toBeGreaterThanOrEqual(1);
        const { rows: table } = await svc.db.query<{ n: number }>(
          'select count(*)::int as n from cads_outbox',
        );
        expect(table[0]?.n).toBe(0);
      });

      it('absorbs a redelivery after a lost ack: the state changes once', async () => {
        const svc = await service('dup');
        const created = `${svc.tag}_created`;
        const { seen, metrics } = outcomes();
        // The first ack of every delivery is lost, as if the process died right after commit.
        const lossy = dropFirstAcks(svc.broker);
        const consumer = track(
          createConsumer({
            name: svc.tag,
            source: svc.tag,
            db: svc.db,
            broker: lossy,
            ackTimeoutMs: 1_000,
            metrics,
            handlers: { [created]: on(Created, (message, { tx }) => recordEffect(tx, message)) },
          }),
        );
        await consumer.start();
        await svc.broker.publish(newMessages(created, ['a', 'b', 'c']));
        await waitFor(
          '3 duplicates absorbed',
          () => seen.filter((o) => o === 'duplicate').length >= 3,
          {
            timeoutMs: 20_000,
          },
        );
        expect(await effects(svc.db)).toEqual([
          { subject: 'a', count: 1, seen: [0] },
          { subject: 'b', count: 1, seen: [0] },
          { subject: 'c', count: 1, seen: [0] },
        ]);
      });

      it('publishes what was committed before a crash once the relay runs again, once', async () => {
        const svc = await service('crash');
        const created = `${svc.tag}_created`;
        const reserved = `${svc.tag}_reserved`;
        const sink = await downstream(reserved);
        // No relay runs: the process "crashed" between the commit and the publish.
        const consumer = track(
          createConsumer({
            name: svc.tag,
            source: svc.tag,
            db: svc.db,
            broker: svc.broker,
            handlers: {
              [created]: on(Created, async (message, { tx, emit }) => {
                await recordEffect(tx, message);
                emit({ type: reserved, data: message.data });
              }),
            },
          }),
        );
        await consumer.start();
        await svc.broker.publish(newMessages(created, ['x', 'y']));
        await waitFor('2 effects', async () => (await effects(svc.db)).length === 2);
        await sleep(300);
        expect(await effects(sink.db)).toEqual([]);

        // A relay that dies after publishing and before deleting: the next one republishes.
        const crashing = createOutboxRelay({
          db: failingDeletes(svc.db),
          broker: svc.broker,
          source: svc.tag,
        });
        await expect(crashing.flush()).rejects.toThrow(/simulated crash/);
        const relay = track(createOutboxRelay({ db: svc.db, broker: svc.broker, source: svc.tag }));
        await relay.start();
        await waitFor('2 downstream effects', async () => (await effects(sink.db)).length === 2);
        await sleep(500);
        expect(await effects(sink.db)).toEqual([
          { subject: 'x', count: 1, seen: [0] },
          { subject: 'y', count: 1, seen: [0] },
        ]);
      });

      it('dead-letters poison messages with the reason while other keys keep flowing', async () => {
        const svc = await service('poison');
        const created = `${svc.tag}_created`;
        let bugFixed = false;
        const consumer = track(
          createConsumer({
            name: svc.tag,
            source: svc.tag,
            db: svc.db,
            broker: svc.broker,
            batchSize: 8,
            retry: { maxAttempts: 3, baseDelayMs: 20, maxDelayMs: 100 },
            redrivePollMs: 100,
            handlers: {
              [created]: on(Created, async (message, { tx }) => {
                if (message.subject === 'terminal')
                  throw new TerminalError('card declined forever');
                if (message.subject === 'buggy' && !bugFixed) throw new TypeError('handler bug');
                await recordEffect(tx, message);
              }),
            },
          }),
        );
        await consumer.start();
        const good = Array.from({ length: 20 }, (_, i) => `good-${i}`);
        const badData = createMessage({
          type: created,
          source: '/test',
          subject: 'bad-data',
          data: { n: -1, x: 1 },
        });
        const badEnvelope = {
          ...createMessage({
            type: created,
            source: '/test',
            subject: 'bad-envelope',
            data: { n: 1 },
          }),
          specversion: '0.3',
        } as unknown as Message;
        await svc.broker.publish([
          badData,
          badEnvelope,
          ...newMessages(created, ['terminal', 'buggy']),
          ...newMessages(created, good),
        ]);
        await waitFor('20 good effects', async () => (await effects(svc.db)).length === 20);
        const letters = await waitFor('4 dead letters', async () => {
          const list = await listDeadLetters(svc.db, { consumer: svc.tag });
          return list.length === 4 && list;
        });
        const bySubject = new Map(letters.map((letter) => [letter.subject, letter]));
        expect(bySubject.get('bad-data')).toMatchObject({ reason: 'invalid_payload', attempts: 1 });
        expect(bySubject.get('bad-data')?.errorMessage).toMatch(/data\/n must be >= 0/);
        expect(bySubject.get('bad-data')?.errorMessage).toMatch(/additional properties/);
        expect(bySubject.get('bad-envelope')).toMatchObject({ reason: 'invalid_envelope' });
        expect(bySubject.get('terminal')).toMatchObject({
          reason: 'terminal_error',
          errorMessage: 'card declined forever',
          attempts: 1,
        });
        expect(bySubject.get('buggy')).toMatchObject({
          reason: 'attempts_exhausted',
          errorName: 'TypeError',
          attempts: 3,
        });
        expect(bySubject.get('buggy')?.body).toMatchObject({ subject: 'buggy', type: created });
        expect(bySubject.get('buggy')?.errorStack).toContain('handler bug');

        // Once the bug is fixed, a redrive handles the message and removes its letter.
        bugFixed = true;
        const buggyId = bySubject.get('buggy')?.messageId ?? '';
        expect(await consumer.redrive(buggyId)).toBe(true);
        await waitFor('the redriven effect', async () =>
          (await effects(svc.db)).some((row) => row.subject === 'buggy'),
        );
        await waitFor(
          '3 letters left',
          async () => (await listDeadLetters(svc.db, { consumer: svc.tag })).length === 3,
        );
        expect(await consumer.redrive('no-such-letter')).toBe(false);
      });

      it('retries a retryable failure with backoff and succeeds once', async () => {
        const svc = await service('retry');
        const created = `${svc.tag}_created`;
        const attempts: Array<{ attempt: number; at: number }> = [];
        const consumer = track(
          createConsumer({
            name: svc.tag,
            source: svc.tag,
            db: svc.db,
            broker: svc.broker,
            retry: { maxAttempts: 5, baseDelayMs: 200, maxDelayMs: 1_000 },
            handlers: {
              [created]: on(Created, async (message, { tx, attempt }) => {
                attempts.push({ attempt, at: Date.now() });
                await recordEffect(tx, message);
                if (attempt < 3) throw new RetryableError('external system answered 503');
              }),
            },
          }),
        );
        await consumer.start();
        await svc.broker.publish(newMessages(created, ['r']));
        await waitFor('the effect', async () => (await effects(svc.db)).length === 1);
        expect(attempts.map((a) => a.attempt)).toEqual([1, 2, 3]);
        // Full jitter keeps each delay between half and all of 200 ms, then 400 ms.
        expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(90);
        expect(attempts[2]!.at - attempts[1]!.at).toBeGreaterThanOrEqual(190);
        expect(await effects(svc.db)).toEqual([{ subject: 'r', count: 1, seen: [0] }]);
      });

      it('handles one key at a time in order while different keys run concurrently', async () => {
        const svc = await service('ledger');
        const created = `${svc.tag}_created`;
        const active = new Set<string>();
        let overlapsOfOneKey = 0;
        let maxActive = 0;
        const consumer = track(
          createConsumer({
            name: svc.tag,
            source: svc.tag,
            db: svc.db,
            broker: svc.broker,
            concurrency: 4,
            batchSize: 1,
            handlers: {
              // Tracked from `prepare` (outside the transaction, so it overlaps even on PGlite,
              // which runs one transaction at a time) to the end of `handle`.
              [created]: on(
                Created,
                async (message, { tx }) => {
                  await recordEffect(tx, message);
                  active.delete(message.subject);
                },
                async (message) => {
                  if (active.has(message.subject)) overlapsOfOneKey += 1;
                  active.add(message.subject);
                  maxActive = Math.max(maxActive, active.size);
                  await sleep(Math.random() * 3);
                },
              ),
            },
          }),
        );
        await consumer.start();
        const keys = Array.from({ length: 12 }, (_, i) => `k${i}`);
        await svc.broker.publish(newMessages(created, keys, 15));
        await waitFor(
          '180 effects',
          async () => {
            const rows = await effects(svc.db);
            return rows.length === 12 && rows.every((row) => row.count === 15);
          },
          { timeoutMs: 30_000 },
        );
        expect(overlapsOfOneKey).toBe(0);
        expect(maxActive).toBeGreaterThan(1);
        for (const row of await effects(svc.db)) {
          expect(row.seen).toEqual(Array.from({ length: 15 }, (_, n) => n));
        }
      });

      it('reports the lag of its group: waiting messages while stopped, 0 once all are handled', async () => {
        const svc = await service('lag');
        const created = `${svc.tag}_created`;
        const options: ConsumerOptions = {
          name: svc.tag,
          source: svc.tag,
          db: svc.db,
          broker: svc.broker,
          handlers: { [created]: on(Created, (message, { tx }) => recordEffect(tx, message)) },
        };
        const first = createConsumer(options);
        await first.start();
        await first.stop();
        await svc.broker.publish(newMessages(`${svc.tag}_unrelated`, ['u']));
        await svc.broker.publish(newMessages(created, ['a', 'b', 'c'], 2));
        expect((await first.stats()).lag).toBe(6);

        const second = track(createConsumer(options));
        await second.start();
        await waitFor('6 effects', async () => {
          const rows = await effects(svc.db);
          return rows.length === 3 && rows.every((row) => row.count === 2);
        });
        await waitFor('no lag', async () => (await second.stats()).lag === 0);
        expect(await second.stats()).toMatchObject({ consumer: svc.tag, lag: 0, deadLetters: 0 });
      });

      it('drains in-flight work on stop and loses nothing across a restart', async () => {
        const svc = await service('drain');
        const created = `${svc.tag}_created`;
        let running = 0;
        const options: ConsumerOptions = {
          name: svc.tag,
          source: svc.tag,
          db: svc.db,
          broker: svc.broker,
          concurrency: 2,
          batchSize: 4,
          handlers: {
            [created]: on(Created, async (message, { tx }) => {
              running += 1;
              await sleep(5);
              await recordEffect(tx, message);
              running -= 1;
            }),
          },
        };
        const first: Consumer = createConsumer(options);
        await first.start();
        const subjects = Array.from({ length: 150 }, (_, i) => `d${i}`);
        await svc.broker.publish(newMessages(created, subjects));
        await waitFor('some progress', async () => (await effects(svc.db)).length >= 10);
        await first.stop();
        expect(running).toBe(0);
        const afterStop = (await effects(svc.db)).length;
        await sleep(300);
        expect((await effects(svc.db)).length).toBe(afterStop);

        const second = track(createConsumer(options));
        await second.start();
        await waitFor('150 effects', async () => (await effects(svc.db)).length === 150, {
          timeoutMs: 30_000,
        });
        expect((await effects(svc.db)).every((row) => row.count === 1)).toBe(true);
      });
    },
  );
}

async function recordEffect(tx: { query: Database['query'] }, message: Message<{ n: number }>) {
  await tx.query(
    sql`insert into effects (subject, count, seen) values (${message.subject}, 1, array[${message.data.n}::int])
        on conflict (subject) do update set count = effects.count + 1, seen = effects.seen || excluded.seen`,
  );
}

/** The broker with the first ack of each message lost, as if the process had died before it. */
function dropFirstAcks(broker: Broker): Broker {
  const acked = new Set<string>();
  return {
    publish: (messages) => broker.publish(messages),
    pending: (group, types) => broker.pending(group, types),
    close: () => broker.close(),
    subscribe: (subscription, handler) =>
      broker.subscribe(subscription, (delivery) => {
        const id = (delivery.body as Message).id;
        const wrapped: Delivery = {
          body: delivery.body,
          attempt: delivery.attempt,
          retry: (ms) => delivery.retry(ms),
          reject: () => delivery.reject(),
          working: () => delivery.working(),
          ack: () => {
            if (acked.has(id)) return delivery.ack();
            acked.add(id);
            return Promise.resolve();
          },
        };
        return handler(wrapped);
      }),
  };
}

/** The database, except that deleting from the outbox "crashes". */
function failingDeletes(db: Database): Database {
  return {
    ...db,
    query: (statement, values) => {
      const text = typeof statement === 'string' ? statement : statement.text;
      if (text.includes('delete from cads_outbox'))
        return Promise.reject(new Error('simulated crash'));
      return db.query(statement, values);
    },
  };
}

export type { OutboxRelay };
