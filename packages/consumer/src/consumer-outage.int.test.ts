import { randomUUID } from 'node:crypto';
import { createMessage, type Message } from '@cads/messaging';
import { sleep, waitFor } from '@cads/messaging/testing';
import { type Database, sql } from '@cads/storage';
import Type from 'typebox';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CircuitState } from './circuit-breaker.ts';
import { createConsumer } from './consumer.ts';
import { listDeadLetters } from './dead-letters.ts';
import { UnavailableError } from './errors.ts';
import { on } from './handler.ts';
import { noMetrics } from './observability.ts';
import { runtimeHarnesses } from './testing/harnesses.ts';
import type { RuntimeHarness } from './testing/runtime-harness.ts';

const Created = Type.Object({ n: Type.Integer({ minimum: 0 }) }, { additionalProperties: false });

/** A dependency that can be switched off, counting the calls it gets while off. */
function dependency(kind: 'service' | 'database') {
  let down = false;
  let callsWhileDown = 0;
  return {
    set down(value: boolean) {
      down = value;
    },
    get callsWhileDown() {
      return callsWhileDown;
    },
    call() {
      if (!down) return;
      callsWhileDown += 1;
      if (kind === 'service') {
        throw new UnavailableError('provider', 'provider unreachable: ECONNREFUSED');
      }
      // What the PostgreSQL driver throws while the server restarts.
      throw Object.assign(new Error('terminating connection due to administrator command'), {
        code: '57P01',
      });
    },
  };
}

for (const { name, skip, setup } of await runtimeHarnesses()) {
  describe.skipIf(skip !== undefined)(
    `consumer runtime through outages on ${name}${skip ? ` (skipped: ${skip})` : ''}`,
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

      const service = async () => {
        const tag = `outage_${randomUUID().slice(0, 8)}`;
        const db = await harness.openDb(tag);
        const broker = await harness.connectBroker();
        cleanup.push(async () => {
          await broker.close();
          await db.close();
        });
        await db.query('create table effects (subject text primary key, count int not null)');
        return { tag, db, broker, type: `${tag}_created` };
      };
      const effects = async (db: Database) =>
        (
          await db.query<{ subject: string; count: number }>(
            'select subject, count from effects order by subject',
          )
        ).rows;
      const messages = (type: string, count: number) =>
        Array.from({ length: count }, (_, n) =>
          createMessage({ type, source: '/test', subject: `k${n}`, data: { n } }),
        );
      const record = (tx: { query: Database['query'] }, message: Message) =>
        tx.query(
          sql`insert into effects (subject, count) values (${message.subject}, 1)
              on conflict (subject) do update set count = effects.count + 1`,
        );

      for (const kind of ['service', 'database'] as const) {
        it(`waits out an unavailable ${kind} behind its circuit: every message once, no dead letter, no attempt spent`, async () => {
          const svc = await service();
          const provider = dependency(kind);
          const states: CircuitState[] = [];
          const attempts: number[] = [];
          const consumer = createConsumer({
            name: svc.tag,
            source: svc.tag,
            db: svc.db,
            broker: svc.broker,
            ackTimeoutMs: 1_000,
            outage: { failureThreshold: 3, openMs: 200, maxOpenMs: 800 },
            metrics: { ...noMetrics, circuit: (_consumer, state) => states.push(state) },
            handlers: {
              [svc.type]: on(
                Created,
                async (message, { tx, attempt }) => {
                  attempts.push(attempt);
                  await record(tx, message);
                },
                () => Promise.resolve(provider.call()),
              ),
            },
          });
          cleanup.push(() => consumer.stop());
          await consumer.start();
          provider.down = true;
          await svc.broker.publish(messages(svc.type, 20));
          // Four lease lengths: without keep-alives every held delivery would come back.
          await sleep(4_000);
          expect(await effects(svc.db)).toEqual([]);
          expect(states).toContain('open');
          // Behind the open circuit only probes reach the dependency, not 20 messages each
          // backing off on its own.
          expect(provider.callsWhileDown).toBeLessThan(60);
          provider.down = false;
          await waitFor(
            'every message handled',
            async () => (await effects(svc.db)).length === 20,
            {
              timeoutMs: 10_000,
            },
          );
          await sleep(1_500);
          expect((await effects(svc.db)).every((effect) => effect.count === 1)).toBe(true);
          expect(await listDeadLetters(svc.db)).toEqual([]);
          // Kept by the consumer, never given back to the broker: still the first delivery.
          expect(new Set(attempts)).toEqual(new Set([1]));
          expect(states.at(-1)).toBe('closed');
        });
      }

      it('dead-letters a message once the outage outlasts its budget, with the reason', async () => {
        const svc = await service();
        const provider = dependency('service');
        provider.down = true;
        const consumer = createConsumer({
          name: svc.tag,
          source: svc.tag,
          db: svc.db,
          broker: svc.broker,
          outage: { budgetMs: 1_500, failureThreshold: 2, openMs: 100, maxOpenMs: 300 },
          handlers: {
            [svc.type]: on(
              Created,
              async (message, { tx }) => void (await record(tx, message)),
              () => Promise.resolve(provider.call()),
            ),
          },
        });
        cleanup.push(() => consumer.stop());
        await consumer.start();
        await svc.broker.publish(messages(svc.type, 1));
        await sleep(1_000);
        expect(await listDeadLetters(svc.db)).toEqual([]);
        const [letter] = await waitFor(
          'the dead letter',
          async () => {
            const letters = await listDeadLetters(svc.db);
            return letters.length > 0 && letters;
          },
          { timeoutMs: 10_000 },
        );
        expect(letter).toMatchObject({
          reason: 'outage_budget_exhausted',
          errorMessage: expect.stringContaining('unreachable') as unknown,
        });
        expect(await effects(svc.db)).toEqual([]);
      });

      it('keeps a delivery whose handler outlasts the lease: handled once, never redelivered', async () => {
        const svc = await service();
        const calls: number[] = [];
        const consumer = createConsumer({
          name: svc.tag,
          source: svc.tag,
          db: svc.db,
          broker: svc.broker,
          ackTimeoutMs: 600,
          handlers: {
            [svc.type]: on(
              Created,
              async (message, { tx }) => void (await record(tx, message)),
              async (_message, { attempt }) => {
                calls.push(attempt);
                await sleep(2_500);
              },
            ),
          },
        });
        cleanup.push(() => consumer.stop());
        await consumer.start();
        await svc.broker.publish(messages(svc.type, 1));
        await waitFor('the effect', async () => (await effects(svc.db)).length === 1, {
          timeoutMs: 10_000,
        });
        await sleep(1_000);
        expect(calls).toEqual([1]);
        expect(await effects(svc.db)).toEqual([{ subject: 'k0', count: 1 }]);
      });
    },
  );
}
