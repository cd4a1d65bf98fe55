import { untilClusterReady } from '@cads/cli/cluster';
import { sleep, waitFor } from '@cads/messaging/testing';
import type { Database } from '@cads/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bffBrowser } from '../live/bff-client.ts';
import { sagaClient, seedOrder, seedOutcomes } from '../saga/saga-client.ts';
import { counterWatch } from './counter-watch.ts';
import { type FaultCluster, startFaultCluster } from './fault-cluster.ts';
import { ownPostgresSkipReason } from './postgres-server.ts';
import {
  deadLetters,
  expectChargedOnce,
  expectNotifiedOnce,
  expectReconciled,
  type PlacedOrder,
  sagaLatency,
  untilFinal,
  untilFinalEventsDecided,
} from './saga-checks.ts';

/**
 * Outages are waited out, not turned into failures: while orders are placed, the notifications
 * provider is down (its process killed and kept down), then the order service's database is
 * unreachable (its connections cut and refused), then NATS is down, each for two minutes, the
 * three overlapping:
 *
 *     notifications  [0 ─────────── 120 s]
 *     order database    [15 s ─────────── 135 s]
 *     NATS                 [30 s ─────────── 150 s]
 *
 * The sagas of the first orders end before NATS goes down (the order service records their
 * outcome once its database is back), and their final events wait for the provider; later
 * orders are refused until the database is back, then stored while NATS is still down. Nobody
 * watches the orders. Every order must then reach its final state, every
 * notification be sent exactly once (all of them after the provider came back), no message be
 * dead-lettered, and `cads reconcile`'s rules be satisfied.
 */
const outageMs = Number(process.env.CADS_OUTAGE_MS ?? 120_000);
const orderCount = 100;
/** Orders per second: some forty are placed before the order database is cut. */
const orderRate = 3;
const concurrency = 4;

const skip = await ownPostgresSkipReason();

describe.skipIf(skip !== undefined)(
  `the cluster through outages of ${outageMs / 1_000} s: the notifications provider, the order database, NATS`,
  () => {
    let system: FaultCluster;

    beforeAll(async () => {
      // One process per service: the outages are the subject here, not the kills.
      system = await startFaultCluster({
        linked: ['order'],
        instances: { restaurant: 1, rider: 1, payment: 1, bff: 1 },
      });
    }, 420_000);

    afterAll(async () => {
      await system?.stop();
    }, 120_000);

    it('finishes every order, notifies each once after the provider is back, dead-letters nothing', async () => {
      const { cluster, databases, nats } = system;
      const orderLink = system.links.order!;
      const client = sagaClient({ urls: cluster.urls, databases });
      const stepDelay = { delay: 20, randomDelay: 60 };
      await client.configure(
        Object.fromEntries(
          ['restaurant', 'rider', 'payment'].map((step) => [
            step,
            { post: stepDelay, delete: stepDelay },
          ]),
        ),
      );
      const users = await Promise.all(
        seedOutcomes.flatMap((outcome) =>
          [0, 1].map(async () => ({ outcome, browser: await bffBrowser(cluster.urls.bff) })),
        ),
      );
      for (const { outcome, browser } of users) {
        await client.configure(outcome.config, `user:${browser.session.userId}`);
      }
      const urls = () => cluster.processes().map((p) => p.url);
      const retries = counterWatch(urls, /^cads_consumer_retries_total\{/);
      const circuitsOpened = counterWatch(urls, /^cads_consumer_circuit_opened_total\{/);

      // The provider goes down before the first order: no notification can be sent early.
      cluster.hold('notifications');
      cluster.kill('notifications', 0);
      await waitFor(
        'the notifications provider to be down',
        () => cluster.processes().every((p) => p.service !== 'notifications' || !p.pid),
        { timeoutMs: 10_000, intervalMs: 50 },
      );
      const t0 = Date.now();
      const at = (ms: number) => sleep(Math.max(0, t0 + ms - Date.now()));
      let providerBackAt = 0;
      let waitingForProvider = 0;
      const outages = Promise.all([
        (async () => {
          await at(outageMs);
          waitingForProvider = await finalEventsEmitted(databases);
          providerBackAt = Date.now();
          cluster.release('notifications');
        })(),
        (async () => {
          await at(outageMs / 8);
          orderLink.cut();
          await at(outageMs / 8 + outageMs);
          orderLink.restore();
        })(),
        (async () => {
          await at(outageMs / 4);
          await nats.restart(outageMs);
        })(),
      ]);

      const placed: PlacedOrder[] = [];
      let refused = 0;
      let nextOrder = 0;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (nextOrder < orderCount) {
            const i = nextOrder++;
            const started = Date.now();
            const { outcome, browser } = users[i % users.length]!;
            for (;;) {
              try {
                placed.push({ orderId: await browser.placeOrder(seedOrder), outcome });
                break;
              } catch (error) {
                // The order service cannot store it while its database is unreachable: the
                // client tries again, as a person would.
                refused++;
                if (Date.now() - t0 > 3 * outageMs) throw error;
                await sleep(500);
              }
            }
            await sleep(Math.max(0, (concurrency * 1_000) / orderRate - (Date.now() - started)));
          }
        }),
      );
      await outages;
      const allBackAt = Date.now();

      await untilFinal(client, placed, 300_000);
      // The checks read every service (the ledger at the externals, …): a process killed at the
      // end of the chaos may still be starting again.
      await untilClusterReady(cluster, { timeoutMs: 120_000 });
      const settledMs = Date.now() - allBackAt;
      await untilFinalEventsDecided(databases, 180_000);
      const notified = await expectNotifiedOnce(databases, placed, 120_000);
      const latency = await sagaLatency(
        databases.order,
        placed.map((order) => order.orderId),
      );
      console.log(
        `outages: ${placed.length} orders (${refused} attempts refused while the order ` +
          `database was cut); ${waitingForProvider} final events waited for the provider; ` +
          `all final ${(settledMs / 1_000).toFixed(0)} s after the last outage; notifications ` +
          `sent ${((notified.first.getTime() - providerBackAt) / 1_000).toFixed(1)}–` +
          `${((notified.last.getTime() - providerBackAt) / 1_000).toFixed(1)} s after the ` +
          `provider came back; ${await retries.total()} retries, circuits opened ` +
          `${await circuitsOpened.total()}×; restarts ${JSON.stringify(cluster.restarts)}; ` +
          `saga latency p50 ${latency.p50} ms, p99 ${latency.p99} ms, max ${latency.max} ms`,
      );

      expect(waitingForProvider).toBeGreaterThan(0);
      expect(notified.first.getTime()).toBeGreaterThanOrEqual(providerBackAt);
      await expectChargedOnce(client, placed);
      await expectReconciled(databases, 120_000);
      expect(await deadLetters(databases)).toEqual([]);
    }, 900_000);
  },
);

/**
 * The final events the step services have emitted (restaurant or rider rejected, payment done
 * or rejected), read from their databases: the order service's may be cut off.
 */
async function finalEventsEmitted(databases: FaultCluster['databases']): Promise<number> {
  const count = async (db: Database, statement: string) =>
    (await db.query<{ n: number }>(statement)).rows[0]!.n;
  const counts = await Promise.all([
    count(
      databases.restaurant,
      'select count(*)::int as n from restaurant_reservations where status = 4',
    ),
    count(databases.rider, 'select count(*)::int as n from rider_assignments where status = 4'),
    count(
      databases.payment,
      'select count(*)::int as n from payment_charges where status in (0, 4)',
    ),
  ]);
  return counts.reduce((sum, n) => sum + n, 0);
}
