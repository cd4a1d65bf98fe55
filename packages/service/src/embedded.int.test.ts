import { on } from '@cads/consumer';
import { createMessage } from '@cads/messaging';
import { waitFor } from '@cads/messaging/testing';
import { type Database, sql } from '@cads/storage';
import { pino } from 'pino';
import Type from 'typebox';
import { afterEach, describe, expect, it } from 'vitest';
import { type EmbeddedSystem, openEmbedded } from './embedded.ts';
import type { ServiceDefinition } from './service.ts';

const Ping = Type.Object({ id: Type.String() });

const table = (name: 'pings' | 'seen') => async (db: Database) => {
  await db.query(sql`create table if not exists ${sql.id(name)} (id text primary key)`);
};

/** Emits `pinged` from a route, in the transaction that stores the ping. */
const sender: ServiceDefinition = {
  name: 'sender',
  runtimeTables: [table('pings')],
  routes: (app, { db, outbox }) => {
    app.post('/pings/:id', async (request, reply) => {
      const { id } = request.params as { id: string };
      const message = createMessage({
        type: 'pinged',
        source: '/sender',
        subject: id,
        data: { id },
      });
      await db.transaction(async (tx) => {
        await tx.query(sql`insert into pings (id) values (${id})`);
        await outbox.enqueue(tx, [message]);
      });
      outbox.committed();
      return reply.code(202).send();
    });
  },
};

/** Keeps every `pinged` it handles. */
const receiver: ServiceDefinition = {
  name: 'receiver',
  runtimeTables: [table('seen')],
  consumer: {
    handlers: {
      pinged: on(Ping, async (message, { tx }) => {
        await tx.query(sql`insert into seen (id) values (${message.data.id})`);
      }),
    },
  },
};

describe('openEmbedded', () => {
  let system: EmbeddedSystem | undefined;
  afterEach(async () => {
    await system?.stop();
    system = undefined;
  }, 60_000);

  it('runs services on one in-memory PGlite: events of a route reach the consumer of another', async () => {
    system = await openEmbedded({ logger: pino({ level: 'silent' }) });
    const { url } = await system.run(sender, { port: 0 });
    const { db, url: notListening } = await system.run(receiver);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(notListening).toBeUndefined();

    expect((await fetch(`${url!}/pings/a`, { method: 'POST' })).status).toBe(202);
    await waitFor('the ping handled', async () => {
      const { rows } = await db.query<{ id: string }>(sql`select id from seen`);
      return rows.length === 1 && rows[0]?.id === 'a';
    });
    expect((await fetch(`${url!}/health`)).status).toBe(200);
    // A PGlite start and two services' migrations: seconds alone, far more on a busy machine.
  }, 180_000);

  it('stops what it started, then closes the database', async () => {
    system = await openEmbedded({ logger: pino({ level: 'silent' }) });
    const { url, db } = await system.run(sender, { port: 0 });
    await system.stop();
    system = undefined;
    await expect(fetch(`${url!}/health`)).rejects.toThrow();
    await expect(db.query(sql`select 1`)).rejects.toThrow();
  }, 180_000);
});
