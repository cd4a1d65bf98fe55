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
  it('a user is online while any connection on any instance is open', async () => {
    const a = registry('a');
    const b = registry('b');
    await a.start();
    await b.start();
    await a.enter('ana');
    expect(await b.isOnline('ana')).toBe(true);
    await b.enter('ana');
    await a.enter('ana');
    a.leave('ana');
    expect(await b.isOnline('ana')).toBe(true);
    a.leave('ana');
    b.leave('ana');
    await waitFor('ana offline', async () => !(await a.isOnline('ana')));
    expect(a.localUsers).toBe(0);
    await a.stop();
    await b.stop();
  });

  it('stores a thousand arrivals in a few writes, each enter resolving once stored', async () => {
    const a = registry('bulk');
    await a.start();
    const users = Array.from({ length: 1_000 }, (_, i) => `user-${i}`);
    await Promise.all(users.map((user) => a.enter(user)));
    const { rows } = await db.query<{ n: number }>(
      `select count(*)::int as n from bff_presence where instance_id = 'bulk'`,
    );
    expect(rows[0]!.n).toBe(1_000);
    for (const user of users) a.leave(user);
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
    await dying.enter('bo');
    expect(await survivor.isOnline('bo')).toBe(true);
    await sleep(400);
    expect(await survivor.isOnline('bo')).toBe(false);
    await dying.stop();
    await survivor.stop();
  });

  it('a clean stop removes the instance and its users at once', async () => {
    const a = registry('leaving');
    const b = registry('staying');
    await a.start();
    await b.start();
    await a.enter('cy');
    await a.stop();
    expect(await b.isOnline('cy')).toBe(false);
    await b.stop();
  });
});
