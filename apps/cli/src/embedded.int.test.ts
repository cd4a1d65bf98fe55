import { testCredentials, testInternalSecret } from '@cads/testing';
import { lstat, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMessage } from '@cads/messaging';
import { waitFor } from '@cads/messaging/testing';
import { sql } from '@cads/storage';
import { openPglite } from '@cads/storage-pglite';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { lockFileName } from './data-dir-lock.ts';
import { startEmbedded } from './embedded.ts';

/** Every entry under `dir` (itself included) with a group or other permission, and its mode. */
async function openToOthers(dir: string): Promise<string[]> {
  const found: string[] = [];
  const visit = async (path: string) => {
    const stats = await lstat(path);
    if ((stats.mode & 0o077) !== 0) found.push(`${(stats.mode & 0o777).toString(8)} ${path}`);
    if (stats.isDirectory()) for (const name of await readdir(path)) await visit(join(path, name));
  };
  await visit(dir);
  return found;
}

describe('the embedded mode', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('puts the BFF alone on --host: the internal services stay on 127.0.0.1', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'cads-embedded-host-'));
    dirs.push(dataDir);
    // Another loopback address (Linux routes all of 127/8 to it): the BFF must answer there,
    // an internal service must not.
    const host = '127.0.0.2';
    const system = await startEmbedded({
      dataDir,
      logger: pino({ level: 'silent' }),
      adminToken: 'embedded-test',
      host,
      basePort: 0,
    });
    try {
      const { bff, ...internal } = system.urls;
      expect(new URL(bff).hostname).toBe(host);
      const at = (url: string) => `http://${host}:${new URL(url).port}/health`;
      expect((await fetch(at(bff))).status).toBe(200);
      for (const url of Object.values(internal)) {
        expect(new URL(url).hostname).toBe('127.0.0.1');
        expect((await fetch(`${url}/health`)).status).toBe(200);
        await expect(fetch(at(url)), url).rejects.toThrow();
      }
    } finally {
      await system.stop();
    }
  });

  it(
    'keeps orders across a restart and finishes sagas left in flight',
    { timeout: 120_000 },
    async () => {
      const dataDir = await mkdtemp(join(tmpdir(), 'cads-embedded-'));
      dirs.push(dataDir);
      const options = {
        dataDir,
        logger: pino({ level: 'silent' }),
        adminToken: 'embedded-test',
        internalSecret: testInternalSecret,
        host: '127.0.0.1',
        basePort: 0,
      };
      const bff = testCredentials('bff');
      const first = await startEmbedded(options);
      const admin = { authorization: 'Bearer embedded-test', 'content-type': 'application/json' };
      // Slow externals, so the saga is still running when the process stops.
      const slow = { post: { delay: 1_500, randomDelay: 0 } };
      await fetch(`${first.urls.externals}/api/config`, {
        method: 'POST',
        headers: admin,
        body: JSON.stringify({ restaurant: slow, rider: slow, payment: slow }),
      });
      const placed = await fetch(`${first.urls.order}/api/orders`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: await bff.authorization('order', 'restart'),
        },
        body: JSON.stringify({ restaurantId: 'kf894jd', cart: [{ itemId: 'b01', amount: 2 }] }),
      });
      expect(placed.status).toBe(202);
      const { orderId } = (await placed.json()) as { orderId: string };
      await first.stop();

      const second = await startEmbedded(options);
      try {
        const order = await waitFor(
          'the order to complete after the restart',
          async () => {
            const response = await fetch(`${second.urls.order}/api/orders/${orderId}`, {
              headers: { authorization: await bff.authorization('order') },
            });
            const body = (await response.json()) as { status: number; priceCents: number };
            return body.status === 2 && body;
          },
          { timeoutMs: 60_000, intervalMs: 200 },
        );
        expect(order.priceCents).toBe(1_380);
      } finally {
        await second.stop();
      }
    },
  );

  it(
    'keeps its data directory to itself: a second start is refused, every file owner-only',
    { timeout: 120_000 },
    async () => {
      const dataDir = await mkdtemp(join(tmpdir(), 'cads-embedded-'));
      dirs.push(dataDir);
      const options = {
        dataDir,
        logger: pino({ level: 'silent' }),
        adminToken: 'embedded-test',
        host: '127.0.0.1',
        basePort: 0,
      };
      // The usual umask, under which PGlite alone leaves most of its files world-writable.
      const umask = process.umask(0o022);
      try {
        const first = await startEmbedded(options);
        try {
          await expect(startEmbedded(options)).rejects.toThrow(
            new RegExp(
              `^the data directory ${dataDir} is in use by process ${process.pid} ` +
                String.raw`\(started \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\)\. ` +
                String.raw`Stop it first, or give another --data\.$`,
            ),
          );
        } finally {
          await first.stop();
        }
        expect(process.umask(0o022)).toBe(0o022);
        expect(await openToOthers(dataDir)).toEqual([]);
        expect(await readdir(dataDir)).toContain('session-secret');
        expect(await readdir(dataDir)).not.toContain(lockFileName);
      } finally {
        process.umask(umask);
      }
    },
  );

  // Opens the on-disk PGlite three times (the first initialises it): seconds each under load.
  it(
    'publishes what an outbox table still holds, though it appends to the log itself',
    { timeout: 120_000 },
    async () => {
      const dataDir = await mkdtemp(join(tmpdir(), 'cads-embedded-'));
      dirs.push(dataDir);
      const options = {
        dataDir,
        logger: pino({ level: 'silent' }),
        adminToken: 'embedded-test',
        host: '127.0.0.1',
        basePort: 0,
      };
      await (await startEmbedded(options)).stop();
      // As a version with an outbox relay would have left it: committed, not yet published.
      const leftover = createMessage({
        type: 'order_probe',
        source: '/cads/order',
        subject: 'left-over',
        data: {},
      });
      const host = await openPglite({ dataDir });
      const order = await host.database('order');
      await order.query(
        sql`insert into cads_outbox (id, message) values (${leftover.id}, ${JSON.stringify(leftover)}::jsonb)`,
      );
      await host.close();

      const second = await startEmbedded(options);
      try {
        const { rows } = await second.databases.order.query<{ type: string }>(
          sql`select type from cads_broker.broker_log where id = ${leftover.id}`,
        );
        expect(rows).toEqual([{ type: 'order_probe' }]);
        const { rows: left } = await second.databases.order.query<{ n: number }>(
          'select count(*)::int as n from cads_outbox',
        );
        expect(left[0]?.n).toBe(0);
      } finally {
        await second.stop();
      }
    },
  );
});
