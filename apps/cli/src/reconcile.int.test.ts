import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPostgresBroker } from '@cads/messaging-postgres';
import { waitFor } from '@cads/messaging/testing';
import { sql } from '@cads/storage';
import { openPglite } from '@cads/storage-pglite';
import { natsSkipReason, postgresSkipReason, testInternalSecret } from '@cads/testing';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noDelays, sagaClient, seedOutcomes } from '../../../e2e/saga/saga-client.ts';
import { formatLocalTime, lockDataDir, lockFileName } from './data-dir-lock.ts';
import { type Finding, reconcile } from './reconcile.ts';
import { runReconcile } from './reconcile-command.ts';
import { readReconcileSnapshot } from './reconcile-snapshot.ts';
import { startSystem } from './system.ts';
import {
  adminToken,
  type PrefixedSystem,
  runCli,
  runInProcess,
  startPrefixedSystem,
} from './testing/operator-harness.ts';

const skip = (await postgresSkipReason()) ?? (await natsSkipReason());

interface ReconcileJson {
  readonly orders: Record<string, number>;
  readonly findings: Finding[];
}

describe.skipIf(skip !== undefined)(
  `cads reconcile on a running system (PostgreSQL + JetStream)${skip ? ` (skipped: ${skip})` : ''}`,
  () => {
    let sut: PrefixedSystem;
    let client: ReturnType<typeof sagaClient>;
    let where: string[];
    /** Order id per outcome name, plus a second order where all accept. */
    const orders = new Map<string, string>();

    beforeAll(async () => {
      sut = await startPrefixedSystem();
      client = sagaClient(sut.system);
      await client.configure(noDelays);
      where = ['--postgres-url', sut.postgresUrl, '--prefix', sut.prefix];
    }, 120_000);
    afterAll(async () => {
      await sut?.dispose();
    });

    const check = async () => {
      const { snapshot, startedAt } = await readReconcileSnapshot((service) => {
        const db = sut.system.databases[service];
        return db ? Promise.resolve(db) : Promise.reject(new Error(`no database for ${service}`));
      });
      return reconcile(snapshot, startedAt, { stuckAfterMs: 60_000, settleMs: 0 });
    };

    it('finds the four outcomes consistent, in this process and as `cads reconcile`', async () => {
      const runs = [...seedOutcomes, { ...seedOutcomes[0], name: 'all accept again' }];
      await Promise.all(
        runs.map(async (outcome) => {
          const userId = `u-${randomUUID().slice(0, 8)}`;
          await client.configure(outcome.config, `user:${userId}`);
          const response = await client.placeOrder(userId);
          const { orderId } = (await response.json()) as { orderId: string };
          orders.set(outcome.name, orderId);
          await client.settles(orderId, outcome.states);
          await waitFor('the order to record every outcome', async () => {
            const seen = (await client.order(orderId)).timeline.map((event) => event.type);
            return outcome.timeline.every((type) => seen.includes(type));
          });
        }),
      );
      // The user never connected: every final event is notified once the BFF decided.
      await waitFor('the bff to decide about every final event', async () => {
        const { rows } = await sut.system.databases.bff.query<{ count: number }>(
          sql`select count(*)::int as count from bff_final_events`,
        );
        return rows[0]?.count === runs.length;
      });

      expect(await check()).toEqual([]);

      const cli = await runCli(['reconcile', '--json', '--settle', '0', ...where]);
      expect(cli.stderr).toBe('');
      expect(cli.code).toBe(0);
      const report = JSON.parse(cli.stdout) as ReconcileJson;
      expect(report.findings).toEqual([]);
      expect(report.orders).toEqual({
        total: 5,
        completed: 2,
        cancelled: 3,
        inFlight: 0,
        stuck: 0,
      });
    }, 120_000);

    it('finds what was corrupted, and exits 1', async () => {
      const id = (name: string) => {
        const orderId = orders.get(name);
        if (!orderId) throw new Error(`no order for ${name}: the first test must run first`);
        return orderId;
      };
      const [accepted, , riderRejects, paymentRejects] = seedOutcomes.map((o) => id(o.name));
      const acceptedAgain = id('all accept again');
      const { restaurant, rider, externals, notifications, order } = sut.system.databases;

      // The restaurant "forgets" it released the reservation of a cancelled order.
      await restaurant.query(
        sql`update restaurant_reservations set status = 0 where order_id = ${riderRejects}`,
      );
      // The bank loses one order's charge and charges another order twice.
      await externals.query(
        sql`delete from externals_ledger where order_id = ${accepted} and kind = 'charge'`,
      );
      await externals.query(
        sql`insert into externals_ledger (order_id, user_id, kind, amount_cents, receipt_id, at)
            select order_id, user_id, 'charge', amount_cents, 'second-charge', now()
            from externals_ledger where order_id = ${acceptedAgain}`,
      );
      // A rider assignment for an order that never existed.
      const ghost = `ghost-${randomUUID()}`;
      await rider.query(
        sql`insert into rider_assignments (order_id, user_id, status, updated_at)
            values (${ghost}, 'nobody', 0, now() - interval '1 hour')`,
      );
      // An order that got nowhere for ten minutes.
      const stuck = randomUUID();
      await order.query(
        sql`insert into orders (order_id, user_id, restaurant_id, cart, price_cents, status, created_at, updated_at)
            values (${stuck}, 'u-stuck', '48hbfe4', '[]'::jsonb, 0, 0,
                    now() - interval '10 minutes', now() - interval '10 minutes')`,
      );
      // A second notification for one order.
      await notifications.query(
        sql`insert into notifications (event_id, order_id, user_id, kind, message, channel, created_at)
            select 'another-event', order_id, user_id, kind, message, channel, created_at
            from notifications where order_id = ${paymentRejects}`,
      );

      const expected = [
        [riderRejects, 'not-compensated'],
        [riderRejects, 'succeeded-without-external-hold'],
        [accepted, 'charge-count'],
        [accepted, 'receipt-without-charge'],
        [acceptedAgain, 'charge-count'],
        [acceptedAgain, 'charge-without-receipt'],
        [ghost, 'unknown-order'],
        [stuck, 'stuck'],
        [paymentRejects, 'duplicate-notification'],
      ].map(([orderId, kind]) => `${orderId} ${kind}`);
      const findings = await check();
      expect(findings.map((finding) => `${finding.orderId} ${finding.kind}`).sort()).toEqual(
        expected.sort(),
      );
      expect(findings).toContainEqual({
        orderId: riderRejects,
        kind: 'not-compensated',
        detail: 'restaurant 0 (reserved) for a cancelled order; it should be 5 (compensated)',
      });

      const cli = await runCli(['reconcile', '--json', '--settle', '0', ...where]);
      expect(cli.code).toBe(1);
      const report = JSON.parse(cli.stdout) as ReconcileJson;
      const keys = (list: readonly Finding[]) =>
        list.map(({ orderId, kind }) => ({ orderId, kind }));
      // The details are the same but for the stuck order's age, which grew meanwhile.
      expect(keys(report.findings)).toEqual(keys(findings));
      expect(report.orders).toEqual({
        total: 6,
        completed: 2,
        cancelled: 3,
        inFlight: 0,
        stuck: 1,
      });

      const text = await runInProcess(runReconcile, ['--settle', '0', ...where]);
      expect(text.code).toBe(1);
      const lines = text.stdout.trimEnd().split('\n');
      expect(lines[0]).toMatch(/^ORDER\s+FINDING\s+DETAIL$/);
      expect(lines.find((line) => line.startsWith(ghost))).toMatch(
        /unknown-order\s+the rider service/,
      );
      expect(lines.at(-1)).toBe(
        'reconcile: 6 orders (2 completed, 3 cancelled, 0 in flight, 1 stuck): 9 findings on 6 orders.',
      );
    }, 120_000);

    it('answers 2 to a usage error', async () => {
      const usage = await runInProcess(runReconcile, ['--database-url', sut.postgresUrl]);
      expect(usage.code).toBe(2);
      expect(usage.stderr).toContain('this command reads every service');
      const stuckAfter = await runInProcess(runReconcile, ['--stuck-after', 'soon', ...where]);
      expect(stuckAfter.code).toBe(2);
    });
  },
);

describe('cads reconcile on the embedded data (PGlite)', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'cads-reconcile-'));
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('reads every schema once the system has stopped', async () => {
    const host = await openPglite({ dataDir });
    const broker = await createPostgresBroker({
      db: await host.database('cads_broker'),
      pollIntervalMs: 100,
    });
    const system = await startSystem({
      databaseFor: (service) => host.database(service),
      broker,
      logger: pino({ level: 'silent' }),
      adminToken,
      sessionSecret: 'test-session-secret-0123456789abcdef',
      internalSecret: testInternalSecret,
    });
    try {
      const client = sagaClient(system);
      await client.configure(noDelays);
      for (const outcome of seedOutcomes) {
        const userId = `u-${randomUUID().slice(0, 8)}`;
        await client.configure(outcome.config, `user:${userId}`);
        const { orderId } = (await (await client.placeOrder(userId)).json()) as {
          orderId: string;
        };
        await client.settles(orderId, outcome.states);
        await waitFor('the order to record every outcome', async () => {
          const seen = (await client.order(orderId)).timeline.map((event) => event.type);
          return outcome.timeline.every((type) => seen.includes(type));
        });
      }
      await waitFor('the bff to decide about every final event', async () => {
        const { rows } = await system.databases.bff.query<{ count: number }>(
          sql`select count(*)::int as count from bff_final_events`,
        );
        return rows[0]?.count === seedOutcomes.length;
      });
    } finally {
      await system.stop();
      await broker.close();
      await host.close();
    }

    const reconcileData = () =>
      runInProcess(runReconcile, ['--settle', '0'], { CADS_DATA_DIR: dataDir });
    // A running `cads start` holds the directory's lock (here: this process).
    const lock = await lockDataDir(dataDir);
    try {
      const refused = await reconcileData();
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(
        `cads reconcile: the data directory ${dataDir} is in use by process ${process.pid} (started `,
      );
    } finally {
      await lock.release();
    }
    // One left by a process that is gone (above the largest pid Linux gives) is taken over.
    const startedAt = new Date('2026-12-07T04:12:00Z');
    const stalePath = join(dataDir, lockFileName);
    await writeFile(stalePath, JSON.stringify({ pid: 4_194_305, startedAt }));
    const report = await reconcileData();
    expect(report.stderr).toBe(
      `cads reconcile: took over the lock ${stalePath}: process 4194305 ` +
        `(started ${formatLocalTime(startedAt)}) left it and is gone\n`,
    );
    expect(report.stdout).toBe(
      'reconcile: 4 orders (1 completed, 3 cancelled, 0 in flight, 0 stuck): consistent, no findings.\n',
    );
    expect(report.code).toBe(0);
  }, 180_000);
});
