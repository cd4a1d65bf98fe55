import { sleep, waitFor } from '@cads/messaging/testing';
import { silentLogger } from '@cads/messaging';
import { type Database, loadMigrations, migrate } from '@cads/storage';
import { openPglite, type PgliteHost } from '@cads/storage-pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPresenceRegistry } from './presence-registry.ts';

let host: PgliteHost;
let db: Database;

beforeAll(async () => {
  host = await openPglite();
  db = await host.database('bff');
  await migrate(db, 'bff', await loadMigrations(new URL('../../migrations/', import.meta.url)));
}, 60_000);

afterAll(async () => {
  await host?.close();
});

const registry = (instanceId: string, ttlMs = 15_000) =>
  createPresenceRegistry({ db, instanceId, log: silentLogger, ttlMs });

describe('the presence registry', () => {
  it('a user is online for an order while any connection to it on any instance is open', async () => {
    const a = registry('a');
    const b = registry('b');
    await a.start();
    await b.start();
    await a.enter('ana', 'order-1');
    expect(await b.isOnline('ana', 'order-1')).toBe(true);
    await b.enter('ana', 'order-1');
    await a.enter('ana', 'order-1');
    a.leave('ana', 'order-1');
    expect(await b.isOnline('ana', 'order-1')).toBe(true);
    a.leave('ana', 'order-1');
    b.leave('ana', 'order-1');
    await waitFor('ana offline', async () => !(await a.isOnline('ana', 'order-1')));
    expect(a.localConnections).toBe(0);
    await a.stop();
    await b.stop();
  });

  it('a user live on one order is not live on their others', async () => {
    const a = registry('per-order');
    await a.start();
    await a.enter('dee', 'watched');
    expect(await a.isOnline('dee', 'watched')).toBe(true);
    expect(await a.isOnline('dee', 'unwatched')).toBe(false);
    // Two pages of one user: leaving one order keeps the other live.
    await a.enter('dee', 'second');
    a.leave('dee', 'watched');
    await waitFor('watched left', async () => !(await a.isOnline('dee', 'watched')));
    expect(await a.isOnline('dee', 'second')).toBe(true);
    a.leave('dee', 'second');
    await a.stop();
  });

  it('stores a thousand arrivals in a few writes, each enter resolving once stored', async () => {
    const a = registry('bulk');
    await a.start();
    const users = Array.from({ length: 1_000 }, (_, i) => `user-${i}`);
    await Promise.all(users.map((user) => a.enter(user, `order-of-${user}`)));
    const { rows } = await db.query<{ n: number }>(
      `select count(*)::int as n from bff_presence where instance_id = 'bulk'`,
    );
    expect(rows[0]!.n).toBe(1_000);
    for (const user of users) a.leave(user, `order-of-${user}`);
    await waitFor('everyone gone', async () => {
      const left = await db.query<{ n: number }>(
        `select count(*)::int as n from bff_presence where instance_id = 'bulk'`,
      );
      return left.rows[0]!.n === 0;
    });
    await a.stop();
  });

  it('an instance that stops refreshing takes its users offline after the ttl', async () => {
    // The dying instance refreshes every 20 s: as far as a reader with a 300 ms ttl can tell,
    // it stopped (crashed) right after it started.
    const dying = registry('dying', 60_000);
    const survivor = registry('survivor', 300);
    await dying.start();
    await survivor.start();
    await dying.enter('bo', 'order-b');
    expect(await survivor.isOnline('bo', 'order-b')).toBe(true);
    await sleep(400);
    expect(await survivor.isOnline('bo', 'order-b')).toBe(false);
    await dying.stop();
    await survivor.stop();
  });

  it('a clean stop removes the instance and its users at once', async () => {
    const a = registry('leaving');
    const b = registry('staying');
    await a.start();
    await b.start();
    await a.enter('cy', 'order-c');
    await a.stop();
    expect(await b.isOnline('cy', 'order-c')).toBe(false);
    await b.stop();
  });
});
