import { randomUUID } from 'node:crypto';
import { untilClusterReady } from '@cads/cli/cluster';
import { serviceNames, type ServiceName } from '@cads/cli/system';
import { createMessage } from '@cads/messaging';
import { sleep, waitFor } from '@cads/messaging/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bffBrowser } from '../live/bff-client.ts';
import { sagaClient, seedOrder, seedOutcomes } from '../saga/saga-client.ts';
import { adminToken } from '../saga/system-harness.ts';
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
 * The cluster under faults: while orders of every seed outcome flow in through the BFFs' entry
 * point, service processes are SIGKILLed at random (every service at least once: the CADS
 * services, both BFFs, the notifications provider and the mock of the external systems, whose
 * outages are waited out), and the PostgreSQL server of the services' databases and NATS are
 * each crashed and restarted, one at a time. Then every order must be in its correct final
 * state everywhere, charged once if completed, with exactly one notification (nobody watches
 * live), every final event decided, `cads reconcile`'s rules satisfied, and the only dead
 * letter is the poison event injected on purpose.
 *
 * CI runs the short version (`npm test`); `npm run test:faults` the long one, through these
 * knobs.
 */
const orderCount = Number(process.env.CADS_FAULT_ORDERS ?? 120);
/** Orders per second placed, so the faults land all along the flow. */
const orderRate = Number(process.env.CADS_FAULT_ORDER_RATE ?? 4);
/**
 * A fault (a kill, or a server crash when one is due) every ~`killEveryMs` (each gap drawn
 * between half and one and a half of it), but never ahead of the orders: at least
 * `ordersPerFault` orders placed since the last one (by default, those placed in that time at
 * `orderRate`). Killing on a clock while a fault holds the orders up would only pile faults
 * onto one stretch of the flow.
 */
const killEveryMs = Number(process.env.CADS_FAULT_KILL_EVERY_MS ?? 2_500);
const ordersPerFault = Number(
  process.env.CADS_FAULT_ORDERS_PER_FAULT ??
    Math.max(1, Math.round((orderRate * killEveryMs) / 1_000)),
);
/** Kills at least: every service once, and more. */
const minKills = Number(process.env.CADS_FAULT_KILLS ?? 8);
/** Crashes of each server (PostgreSQL, NATS), spread over the orders, never both at once. */
const serverRestarts = Number(process.env.CADS_FAULT_SERVER_RESTARTS ?? 1);
const concurrency = 8;

const skip = await ownPostgresSkipReason();

describe.skipIf(skip !== undefined)(
  `the cluster under faults: ${orderCount} orders, processes killed, PostgreSQL and NATS restarted`,
  () => {
    let system: FaultCluster;

    beforeAll(async () => {
      system = await startFaultCluster();
    }, 420_000);

    afterAll(async () => {
      await system?.stop();
    }, 120_000);

    it(
      'loses no order, charges once, notifies once, dead-letters only the poison',
      async () => {
        const { cluster, databases, broker } = system;
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
        // Four users per outcome, each a browser session through the entry point.
        const users = await Promise.all(
          seedOutcomes.flatMap((outcome) =>
            [0, 1, 2, 3].map(async () => ({
              outcome,
              browser: await bffBrowser(cluster.urls.bff),
            })),
          ),
        );
        for (const { outcome, browser } of users) {
          await client.configure(outcome.config, `user:${browser.session.userId}`);
        }

        const urls = () => cluster.processes().map((p) => p.url);
        // The BFF's metrics need the admin token (the others' take it too).
        const admin = { authorization: `Bearer ${adminToken}` };
        const duplicates = counterWatch(
          urls,
          /^cads_consumer_handler_seconds_count\{.*outcome="duplicate"/,
          admin,
        );
        const retries = counterWatch(urls, /^cads_consumer_retries_total\{/, admin);
        const circuitsOpened = counterWatch(urls, /^cads_consumer_circuit_opened_total\{/, admin);
        const kills = Object.fromEntries(serviceNames.map((s) => [s, 0])) as Record<
          ServiceName,
          number
        >;
        const killCount = () => Object.values(kills).reduce((sum, n) => sum + n, 0);
        const serverCrashes = { postgres: 0, nats: 0 };
        // The server crashes, spread over the orders: PostgreSQL, NATS, PostgreSQL, …
        const crashPlan = Array.from({ length: 2 * serverRestarts }, (_, i) => ({
          server: i % 2 === 0 ? ('postgres' as const) : ('nats' as const),
          afterOrders: Math.floor((orderCount * (i + 0.5)) / (2 * serverRestarts)),
        }));
        let nextOrder = 0;
        let placing = true;

        // A kill only of a process that has answered its health check for 3 s (killing one
        // still starting would test a crash loop, not a failure): the cluster keeps working.
        const healthySince = new Map<string, number>();
        let watching = true;
        const health = (async () => {
          while (watching) {
            await Promise.all(
              cluster.processes().map(async (p) => {
                const key = `${p.url}#${p.pid}`;
                const ok =
                  (
                    await fetch(`${p.url}/health`, { signal: AbortSignal.timeout(2_000) }).catch(
                      () => undefined,
                    )
                  )?.ok === true;
                if (!ok) healthySince.delete(key);
                else if (!healthySince.has(key)) healthySince.set(key, Date.now());
              }),
            );
            await sleep(300);
          }
        })();
        // Every service is killed at least once, in a random order, then at random.
        const firstRound = [...serviceNames].sort(() => Math.random() - 0.5);
        const chaos = (async () => {
          let faults = 0;
          let lastFaultAt = Date.now();
          let gapMs = killEveryMs * (0.5 + Math.random());
          const faulted = () => {
            faults++;
            lastFaultAt = Date.now();
            gapMs = killEveryMs * (0.5 + Math.random());
          };
          while (
            placing ||
            killCount() < minKills ||
            crashPlan.length > 0 ||
            firstRound.length > 0
          ) {
            await sleep(200);
            if (Date.now() - lastFaultAt < gapMs) continue;
            if (placing && nextOrder < (faults + 1) * ordersPerFault) continue;
            const crash = crashPlan[0];
            if (crash && (!placing || nextOrder >= crash.afterOrders)) {
              crashPlan.shift();
              serverCrashes[crash.server]++;
              if (crash.server === 'postgres') await system.postgres.restart(1_000);
              else await system.nats.restart(1_000);
              faulted();
              continue;
            }
            const steady = cluster.processes().filter((p) => {
              const since = healthySince.get(`${p.url}#${p.pid}`);
              return since !== undefined && Date.now() - since > 3_000;
            });
            const wanted = firstRound.find((service) => steady.some((p) => p.service === service));
            const candidates = wanted ? steady.filter((p) => p.service === wanted) : steady;
            const victim = candidates[Math.floor(Math.random() * candidates.length)];
            if (victim && cluster.kill(victim.service, victim.instance)) {
              kills[victim.service]++;
              if (wanted) firstRound.splice(firstRound.indexOf(wanted), 1);
              faulted();
            }
          }
          watching = false;
          await health;
        })();

        const placed: PlacedOrder[] = [];
        let refused = 0;
        const placeOne = async (i: number) => {
          const { outcome, browser } = users[i % users.length]!;
          const deadline = Date.now() + 300_000;
          for (;;) {
            try {
              placed.push({ orderId: await browser.placeOrder(seedOrder), outcome });
              return;
            } catch (error) {
              // A killed BFF or order service, or its database restarting: the client tries
              // again, as a person would.
              refused++;
              if (Date.now() > deadline) throw error;
              await sleep(250);
            }
          }
        };
        const startedAt = Date.now();
        // A steady stream, so the faults land all along the run.
        await Promise.all(
          Array.from({ length: concurrency }, async () => {
            while (nextOrder < orderCount) {
              const i = nextOrder++;
              const started = Date.now();
              await placeOne(i);
              await sleep(Math.max(0, (concurrency * 1_000) / orderRate - (Date.now() - started)));
              if (i === Math.floor(orderCount / 2)) {
                // The poison: an order_created nobody could have sent (no cart, no user).
                // Published again (same id) while NATS may be restarting.
                const orderId = randomUUID();
                const poison = createMessage({
                  type: 'order_created',
                  source: '/cads/order',
                  subject: orderId,
                  data: { orderId, status: 0 },
                });
                await waitFor(
                  'the poison published',
                  () =>
                    broker.publish([poison]).then(
                      () => true,
                      () => false,
                    ),
                  { timeoutMs: 60_000, intervalMs: 500 },
                );
              }
            }
          }),
        );
        placing = false;
        await chaos;
        const faultsMs = Date.now() - startedAt;

        await untilFinal(client, placed, 300_000);
        // The checks read every service (the ledger at the externals, …): a process killed at the
        // end of the chaos may still be starting again.
        await untilClusterReady(cluster, { timeoutMs: 120_000 });
        const latency = await sagaLatency(
          databases.order,
          placed.map((order) => order.orderId),
        );
        console.log(
          `faults: ${placed.length} orders in ${(faultsMs / 1_000).toFixed(0)} s of faults, ` +
            `${refused} order attempts refused and retried; ` +
            `${killCount()} processes killed ${JSON.stringify(kills)}; ` +
            `restarts ${JSON.stringify(cluster.restarts)}; ` +
            `PostgreSQL restarted ${serverCrashes.postgres}×, NATS ${serverCrashes.nats}×; ` +
            `redeliveries: ${await duplicates.total()} duplicates absorbed by inboxes, ` +
            `${await retries.total()} retries, circuits opened ${await circuitsOpened.total()}×; ` +
            `saga latency p50 ${latency.p50} ms, p99 ${latency.p99} ms, max ${latency.max} ms`,
        );
        expect(killCount()).toBeGreaterThanOrEqual(minKills);
        for (const service of serviceNames) expect(kills[service], service).toBeGreaterThan(0);
        expect(serverCrashes).toEqual({ postgres: serverRestarts, nats: serverRestarts });

        await expectChargedOnce(client, placed);
        // A BFF's consumer lags when a BFF holding an event was killed (redelivered after the
        // lease) or while the provider was down (waited out behind its circuit breaker).
        await untilFinalEventsDecided(databases, 180_000);
        await expectNotifiedOnce(databases, placed, 120_000);
        await expectReconciled(databases, 120_000);
        // Dead letters: the poison at the restaurant, nothing anywhere else.
        expect(
          (await deadLetters(databases)).map(({ service, type }) => ({ service, type })),
        ).toEqual([{ service: 'restaurant', type: 'order_created' }]);
      },
      900_000 + orderCount * 500,
    );
  },
);
