import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createMessage } from '@cads/messaging';
import { sleep, waitFor } from '@cads/messaging/testing';
import { createNatsBroker } from '@cads/messaging-nats';
import { createPostgresBroker } from '@cads/messaging-postgres';
import type { Database } from '@cads/storage';
import { openPostgresDatabase } from '@cads/storage-postgres';
import {
  createTestDatabase,
  natsSkipReason,
  natsUrl,
  postgresSkipReason,
  type TestDatabase,
} from '@cads/testing';
import { afterEach, describe, expect, it } from 'vitest';

const worker = fileURLToPath(new URL('./testing/crash-worker.ts', import.meta.url));
const postgresSkip = await postgresSkipReason();
const natsSkip = postgresSkip ?? (await natsSkipReason());

const variants = [
  { broker: 'postgres', skip: postgresSkip },
  { broker: 'nats', skip: natsSkip },
] as const;

describe('a service process killed at random moments', () => {
  const children = new Set<ChildProcess>();
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const child of children) child.kill('SIGKILL');
    children.clear();
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  for (const variant of variants) {
    it.skipIf(variant.skip !== undefined)(
      `changes state and emits downstream exactly once per message (${variant.broker}${variant.skip ? `, skipped: ${variant.skip}` : ''})`,
      { timeout: 120_000 },
      async () => {
        const database: TestDatabase = await createTestDatabase('cads_crash');
        cleanup.push(() => database.drop());
        const tag = `c${randomUUID().slice(0, 8)}`;
        const stream = `CRASH_${tag.toUpperCase()}`;
        const env = {
          ...process.env,
          CRASH_DATABASE_URL: database.url,
          CRASH_TAG: tag,
          CRASH_BROKER: variant.broker,
          CRASH_NATS_URL: natsUrl,
          CRASH_STREAM: stream,
          CRASH_PREFIX: tag,
        };
        const svc = await openPostgresDatabase({
          connectionString: database.url,
          schema: `${tag}_svc`,
        });
        const sink = await openPostgresDatabase({
          connectionString: database.url,
          schema: `${tag}_sink`,
        });
        cleanup.push(
          () => svc.close(),
          () => sink.close(),
        );
        for (const db of [svc, sink]) {
          await db.query('create table effects (subject text primary key, count int not null)');
        }

        const start = async (): Promise<ChildProcess> => {
          const child = spawn(process.execPath, ['--import', 'tsx', worker], {
            env,
            stdio: ['ignore', 'pipe', 'inherit'],
          });
          children.add(child);
          child.once('exit', () => children.delete(child));
          let output = '';
          child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
          await waitFor('the worker to be ready', () => output.includes('ready'), {
            timeoutMs: 30_000,
          });
          return child;
        };

        // Publish the work from this process, through the same kind of broker.
        const publisher = await openPublisher(variant.broker, database.url, tag, stream);
        cleanup.push(() => publisher.close());
        const count = 400;
        const subjects = Array.from({ length: count }, (_, i) => `key-${i}`);
        const done = async (db: Database) => {
          const { rows } = await db.query<{ n: number }>('select count(*)::int as n from effects');
          return rows[0]?.n ?? 0;
        };

        let child = await start();
        await publisher.broker.publish(
          subjects.map((subject, n) =>
            createMessage({ type: `${tag}_created`, source: '/test', subject, data: { n } }),
          ),
        );
        let kills = 0;
        while (kills < 5 || (await done(sink)) < count) {
          await sleep(100 + Math.random() * 300);
          child.kill('SIGKILL');
          await once(child, 'exit');
          kills += 1;
          child = await start();
          if (kills > 40) break;
        }
        await waitFor('every downstream effect', async () => (await done(sink)) === count, {
          timeoutMs: 60_000,
        });
        const exit = once(child, 'exit');
        child.kill('SIGTERM');
        const [code] = (await exit) as [number | null];
        expect(code).toBe(0);

        for (const db of [svc, sink]) {
          const { rows } = await db.query<{ subject: string; count: number }>(
            'select subject, count from effects where count <> 1',
          );
          expect(rows).toEqual([]);
          expect(await done(db)).toBe(count);
        }
        const { rows } = await svc.query<{ n: number }>(
          'select count(*)::int as n from cads_outbox',
        );
        expect(rows[0]?.n).toBe(0);
        expect(kills).toBeGreaterThanOrEqual(5);
        console.log(`${variant.broker}: ${count} messages, ${kills} kills, every effect once`);
      },
    );
  }
});

async function openPublisher(kind: 'postgres' | 'nats', url: string, tag: string, stream: string) {
  if (kind === 'nats') {
    const broker = await createNatsBroker({ servers: natsUrl, stream, subjectPrefix: tag });
    return {
      broker,
      async close() {
        await broker.deleteStream();
        await broker.close();
      },
    };
  }
  const db = await openPostgresDatabase({ connectionString: url, schema: 'cads_broker' });
  const broker = await createPostgresBroker({ db });
  return {
    broker,
    async close() {
      await broker.close();
      await db.close();
    },
  };
}
