import { randomUUID } from 'node:crypto';
import { clusterPortSpan, startCluster, type RunningCluster } from '@cads/cli/cluster';
import { finalEventTypes } from '@cads/bff/contracts';
import { runReconcile } from '@cads/cli/reconcile';
import { serviceNames, type ServiceName } from '@cads/cli/system';
import { listDeadLetters } from '@cads/consumer';
import { createMessage } from '@cads/messaging';
import { sleep, waitFor } from '@cads/messaging/testing';
import { createNatsBroker, type NatsBroker } from '@cads/messaging-nats';
import type { Database } from '@cads/storage';
import { openPostgresDatabase } from '@cads/storage-postgres';
import { postgresSkipReason, postgresUrl } from '@cads/testing';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bffBrowser } from '../live/bff-client.ts';
import { freePortRange } from '../saga/free-ports.ts';
import { sagaClient, seedOrder, seedOrderCents, seedOutcomes } from '../saga/saga-client.ts';
import { adminToken } from '../saga/system-harness.ts';
import { type OwnNatsServer, startOwnNatsServer } from './nats-server.ts';

/**
 * The cluster under faults: while orders of every seed outcome flow in through the BFFs' entry
 * point, service processes are SIGKILLed at random (every CADS service, both BFFs, several
 * times; the mock of the external systems is left alone, its outage being a business outcome
 * tested in the saga suite) and NATS is killed and restarted once. Then every order must be in
 * its correct final state everywhere, charged once if completed, with exactly one notification
 * (nobody watches live), and the only dead letter is the poison event injected on purpose.
 *
 * CI runs the short version (`npm test`); `npm run test:faults` the long one.
 */
const orderCount = Number(process.env.CADS_FAULT_ORDERS ?? 120);
const minKills = Number(process.env.CADS_FAULT_KILLS ?? 6);
/** Orders per second placed, so the kills land all along the flow. */
const orderRate = Number(process.env.CADS_FAULT_ORDER_RATE ?? 8);
const concurrency = 8;

/**
 * Sums counters over processes that restart: each process's `/metrics` is read every second,
 * and a value lower than the last one seen means a new process (its predecessor's count is kept).
 */
function counterWatch(urls: readonly string[], pattern: RegExp) {
  const last = new Map<string, number>();
  let banked = 0;
  let stopped = false;
  const read = async (url: string) => {
    const text = await (await fetch(`${url}/metrics`)).text();
    return text
      .split('\n')
      .filter((line) => pattern.test(line))
      .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
  };
  const loop = (async () => {
    while (!stopped) {
      for (const url of urls) {
        const value = await read(url).catch(() => undefined);
        if (value === undefined) continue;
        const before = last.get(url) ?? 0;
        if (value < before) banked += before;
        last.set(url, value);
      }
      await sleep(1_000);
    }
  })();
  return {
    async total() {
      stopped = true;
      await loop;
      return banked + [...last.values()].reduce((sum, value) => sum + value, 0);
    },
  };
}
const skip = await postgresSkipReason();

/** Services whose processes are killed: every CADS service (externals is the outside world). */
const victims: readonly ServiceName[] = serviceNames.filter((service) => service !== 'externals');

describe.skipIf(skip !== undefined)(
  `the cluster under faults: ${orderCount} orders, processes killed, NATS restarted`,
  () => {
    const tag = `f${randomUUID().replaceAll('-', '').slice(0, 10)}`;
    let nats: OwnNatsServer;
    let cluster: RunningCluster;
    let broker: NatsBroker;
    const databases = {} as Record<ServiceName, Database>;

    beforeAll(async () => {
      nats = await startOwnNatsServer();
      cluster = await startCluster({
        postgresUrl,
        natsUrl: nats.url,
        adminToken,
        host: '127.0.0.1',
        basePort: await freePortRange(clusterPortSpan),
        logger: pino({ level: process.env.CADS_TEST_LOG_LEVEL ?? 'silent' }),
        logLevel: process.env.CADS_TEST_LOG_LEVEL ?? 'fatal',
        databasePrefix: tag,
        natsStream: tag.toUpperCase(),
        natsSubjectPrefix: tag,
      });
      for (const member of cluster.processes()) {
        await waitFor(
          `${member.service}#${member.instance} to be ready`,
          async () => (await fetch(`${member.url}/ready`).catch(() => undefined))?.ok,
          { timeoutMs: 90_000, intervalMs: 200 },
        );
      }
      for (const name of serviceNames) {
        const url = new URL(postgresUrl);
        url.pathname = `/${tag}_${name}`;
        databases[name] = await openPostgresDatabase({ connectionString: url.toString() });
      }
      broker = await createNatsBroker({
        servers: nats.url,
        stream: tag.toUpperCase(),
        subjectPrefix: tag,
      });
    }, 180_000);

    afterAll(async () => {
      await broker?.close();
      await cluster?.stop();
      for (const db of Object.values(databases)) await db.close();
      await nats?.stop();
      const admin = new pg.Client({ connectionString: postgresUrl });
      await admin.connect();
      for (const name of serviceNames)
        await admin.query(`drop database if exists "${tag}_${name}" with (force)`);
      await admin.end();
    }, 120_000);

    it('loses no order, charges once, notifies once, dead-letters only the poison', async () => {
      const client = sagaClient({ urls: cluster.urls, databases });
      const stepDelay = { delay: 20, randomDelay: 60 };
      await client.configure(
        Object.fromEntries(
          ['restaurant', 'rider', 'payment'].map((system) => [
            system,
            { post: stepDelay, delete: stepDelay },
          ]),
        ),
      );
      // Four users per outcome, each a browser session through the entry point.
      const users = await Promise.all(
        seedOutcomes.flatMap((outcome) =>
          [0, 1, 2, 3].map(async () => ({ outcome, browser: await bffBrowser(cluster.urls.bff) })),
        ),
      );
      for (const { outcome, browser } of users) {
        await client.configure(outcome.config, `user:${browser.session.userId}`);
      }

      const urls = cluster.processes().map((p) => p.url);
      const duplicates = counterWatch(
        urls,
        /^cads_consumer_handler_seconds_count\{.*outcome="duplicate"/,
      );
      const retries = counterWatch(urls, /^cads_consumer_retries_total\{/);
      let kills = 0;
      let natsRestarts = 0;
      let placing = true;
      // A kill every 1.5–4 s, of a process that has answered its health check for 3 s (killing
      // one still starting would test a crash loop, not a failure): the cluster keeps working.
      const healthySince = new Map<string, number>();
      let watching = true;
      const health = (async () => {
        while (watching) {
          await Promise.all(
            cluster.processes().map(async (p) => {
              const key = `${p.url}#${p.pid}`;
              const ok = (await fetch(`${p.url}/health`).catch(() => undefined))?.ok === true;
              if (!ok) healthySince.delete(key);
              else if (!healthySince.has(key)) healthySince.set(key, Date.now());
            }),
          );
          await sleep(300);
        }
      })();
      const chaos = (async () => {
        while (placing || kills < minKills) {
          await sleep(1_500 + Math.random() * 2_500);
          const steady = cluster.processes().filter((p) => {
            const since = healthySince.get(`${p.url}#${p.pid}`);
            return victims.includes(p.service) && since !== undefined && Date.now() - since > 3_000;
          });
          const victim = steady[Math.floor(Math.random() * steady.length)];
          if (victim && cluster.kill(victim.service, victim.instance)) kills++;
          if (natsRestarts === 0 && kills === 2) {
            natsRestarts++;
            await nats.restart(500);
          }
        }
        watching = false;
        await health;
      })();

      const placed: Array<{ orderId: string; outcome: (typeof seedOutcomes)[number] }> = [];
      let refused = 0;
      const placeOne = async (i: number) => {
        const { outcome, browser } = users[i % users.length]!;
        const deadline = Date.now() + 120_000;
        for (;;) {
          try {
            placed.push({ orderId: await browser.placeOrder(seedOrder), outcome });
            return;
          } catch (error) {
            // A killed BFF or order service: the client tries again, as a person would.
            refused++;
            if (Date.now() > deadline) throw error;
            await sleep(250);
          }
        }
      };
      // A steady stream, so kills land all along the run.
      let nextOrder = 0;
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

      for (const { orderId, outcome } of placed) {
        await client.settles(orderId, outcome.states, 180_000);
      }
      console.log(
        `faults: ${placed.length} orders, ${kills} processes killed, NATS restarted ${natsRestarts}×, ` +
          `${refused} order attempts refused and retried; redeliveries seen: ` +
          `${await duplicates.total()} duplicates absorbed by inboxes, ${await retries.total()} ` +
          `retries; restarts: ${JSON.stringify(cluster.restarts)}`,
      );
      expect(kills).toBeGreaterThanOrEqual(minKills);
      expect(natsRestarts).toBe(1);

      // Money: a completed order is charged exactly once; a cancelled one ends with nothing.
      for (const { orderId, outcome } of placed) {
        const ledger = await client.ledger(orderId);
        const charged = ledger
          .filter((entry) => entry.kind === 'charge')
          .reduce((sum, entry) => sum + entry.amountCents, 0);
        const refunded = ledger
          .filter((entry) => entry.kind === 'refund')
          .reduce((sum, entry) => sum + entry.amountCents, 0);
        expect(charged - refunded, `${orderId} (${outcome.name})`).toBe(
          outcome.name === 'all accept' ? seedOrderCents : 0,
        );
        expect(ledger.filter((entry) => entry.kind === 'charge').length).toBeLessThanOrEqual(1);
      }

      // Every final event the order service recorded (of placed orders, and of orders whose
      // acceptance a killed process never answered) is decided by a BFF: its own consumer,
      // which lags when a BFF holding an event was killed (redelivered after the ack timeout).
      await waitFor(
        'the BFFs to decide about every final event',
        async () => {
          const recorded = await databases.order.query<{ n: number }>(
            `select count(distinct order_id)::int as n from order_events where type = any($1::text[])`,
            [finalEventTypes],
          );
          const decided = await databases.bff.query<{ n: number }>(
            `select count(distinct order_id)::int as n from bff_final_events`,
          );
          return decided.rows[0]!.n >= recorded.rows[0]!.n;
        },
        { timeoutMs: 150_000, intervalMs: 500 },
      ).catch(async (error: unknown) => {
        const letters = await listDeadLetters(databases.bff);
        throw new Error(
          `undecided final events; bff dead letters: ${JSON.stringify(letters.map((l) => [l.type, l.errorMessage]))}`,
          { cause: error },
        );
      });

      // Nobody watched: every order's final event became exactly one notification.
      await waitFor(
        'a notification for every order',
        async () => {
          const { rows } = await databases.notifications.query<{ n: number }>(
            `select count(distinct order_id)::int as n from notifications
             where order_id = any($1::text[])`,
            [placed.map((order) => order.orderId)],
          );
          return rows[0]!.n === placed.length;
        },
        { timeoutMs: 60_000, intervalMs: 200 },
      );
      const { rows: perOrder } = await databases.notifications.query<{
        order_id: string;
        n: number;
      }>(
        `select order_id, count(*)::int as n from notifications group by order_id having count(*) > 1`,
      );
      expect(perOrder).toEqual([]);

      // The operator's view agrees: `cads reconcile` over every service's database finds
      // nothing once the last redeliveries are in. An event a process had pulled when it (or
      // NATS) was killed comes back after the 30 s ack timeout; the order's status may already
      // be final through later events, so the states above can settle before its timeline does.
      const reconcile = async () => {
        let report = '';
        const code = await runReconcile(
          ['--json', '--postgres-url', postgresUrl, '--prefix', tag, '--settle', '1'],
          {
            stdout: (text) => (report += text),
            stderr: (text) => (report += text),
            env: {},
            cwd: process.cwd(),
          },
        );
        return { code, findings: (JSON.parse(report) as { findings: unknown[] }).findings };
      };
      let last = await reconcile();
      const deadline = Date.now() + 90_000;
      while (last.findings.length > 0 && Date.now() < deadline) {
        await sleep(2_000);
        last = await reconcile();
      }
      expect(last.findings).toEqual([]);
      expect(last.code).toBe(0);

      // Dead letters: the poison at the restaurant, nothing anywhere else.
      const letters = (
        await Promise.all(
          serviceNames.map(async (service) =>
            (await listDeadLetters(databases[service])).map((letter) => ({
              service,
              type: letter.type,
            })),
          ),
        )
      ).flat();
      expect(letters).toEqual([{ service: 'restaurant', type: 'order_created' }]);
    }, 600_000);
  },
);
