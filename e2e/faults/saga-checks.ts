import { finalEventTypes } from '@cads/bff/contracts';
import { isServiceName, serviceNames, type ServiceName } from '@cads/cli/system';
import { listDeadLetters } from '@cads/consumer';
import { sleep, waitFor } from '@cads/messaging/testing';
import type { Database } from '@cads/storage';
import { expect } from 'vitest';
import type { Finding } from '../../apps/cli/src/reconcile.ts';
import { reconcile } from '../../apps/cli/src/reconcile.ts';
import { readReconcileSnapshot } from '../../apps/cli/src/reconcile-snapshot.ts';
import { type sagaClient, seedOrderCents, type seedOutcomes } from '../saga/saga-client.ts';

/** What the suites check of the whole system once the faults are over. */

export interface PlacedOrder {
  readonly orderId: string;
  readonly outcome: (typeof seedOutcomes)[number];
}

type Databases = Readonly<Record<ServiceName, Database>>;

/** Waits until every order is in its outcome's final state in every service. */
export async function untilFinal(
  client: ReturnType<typeof sagaClient>,
  placed: readonly PlacedOrder[],
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const { orderId, outcome } of placed) {
    await client.settles(orderId, outcome.states, Math.max(1_000, deadline - Date.now()));
  }
}

/** A completed order is charged exactly once; a cancelled one ends with nothing. */
export async function expectChargedOnce(
  client: ReturnType<typeof sagaClient>,
  placed: readonly PlacedOrder[],
): Promise<void> {
  for (const { orderId, outcome } of placed) {
    const ledger = await client.ledger(orderId);
    const charges = ledger.filter((entry) => entry.kind === 'charge');
    const charged = charges.reduce((sum, entry) => sum + entry.amountCents, 0);
    const refunded = ledger
      .filter((entry) => entry.kind === 'refund')
      .reduce((sum, entry) => sum + entry.amountCents, 0);
    expect(charged - refunded, `${orderId} (${outcome.name})`).toBe(
      outcome.name === 'all accept' ? seedOrderCents : 0,
    );
    expect(charges.length, `${orderId} (${outcome.name})`).toBeLessThanOrEqual(1);
  }
}

/**
 * Every final event the order service recorded (of placed orders, and of orders whose
 * acceptance a killed process never answered) is decided by a BFF's consumer.
 */
export async function untilFinalEventsDecided(
  databases: Databases,
  timeoutMs: number,
): Promise<void> {
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
    { timeoutMs, intervalMs: 500 },
  ).catch(async (error: unknown) => {
    const letters = await listDeadLetters(databases.bff);
    throw new Error(
      `undecided final events; bff dead letters: ${JSON.stringify(letters.map((l) => [l.type, l.errorMessage]))}`,
      { cause: error },
    );
  });
}

/**
 * Nobody watched: every order's final event became exactly one notification. Returns when the
 * first and the last of them were stored.
 */
export async function expectNotifiedOnce(
  databases: Databases,
  placed: readonly PlacedOrder[],
  timeoutMs: number,
): Promise<{ first: Date; last: Date }> {
  const orderIds = placed.map((order) => order.orderId);
  await waitFor(
    'a notification for every order',
    async () => {
      const { rows } = await databases.notifications.query<{ n: number }>(
        `select count(distinct order_id)::int as n from notifications
         where order_id = any($1::text[])`,
        [orderIds],
      );
      return rows[0]!.n === placed.length;
    },
    { timeoutMs, intervalMs: 200 },
  );
  const { rows: repeated } = await databases.notifications.query<{ order_id: string; n: number }>(
    `select order_id, count(*)::int as n from notifications group by order_id having count(*) > 1`,
  );
  expect(repeated).toEqual([]);
  const { rows } = await databases.notifications.query<{ first: Date; last: Date }>(
    `select min(created_at) as first, max(created_at) as last from notifications
     where order_id = any($1::text[])`,
    [orderIds],
  );
  return rows[0]!;
}

/**
 * The operator's view agrees: the rules of `cads reconcile`, over every service's database,
 * find nothing once the last redeliveries are in (the states can settle before an order's
 * timeline does). The command itself reads every database on one server, and the externals'
 * here is on another.
 */
export async function expectReconciled(databases: Databases, timeoutMs: number): Promise<void> {
  const check = async (): Promise<Finding[]> => {
    const { snapshot, startedAt } = await readReconcileSnapshot((service) =>
      isServiceName(service)
        ? Promise.resolve(databases[service])
        : Promise.reject(new Error(`no database for ${service}`)),
    );
    return reconcile(snapshot, startedAt, { stuckAfterMs: 60_000, settleMs: 1_000 });
  };
  let findings = await check();
  const deadline = Date.now() + timeoutMs;
  while (findings.length > 0 && Date.now() < deadline) {
    await sleep(2_000);
    findings = await check();
  }
  expect(findings).toEqual([]);
}

/** Every service's dead letters, as `{ service, type }`. */
export async function deadLetters(
  databases: Databases,
): Promise<Array<{ service: ServiceName; type: string | null; reason: string }>> {
  return (
    await Promise.all(
      serviceNames.map(async (service) =>
        (await listDeadLetters(databases[service])).map((letter) => ({
          service,
          type: letter.type,
          reason: `${letter.reason}: ${letter.errorMessage}`,
        })),
      ),
    )
  ).flat();
}

/**
 * How long the sagas took, from the order placed to its final event recorded by the order
 * service (ms): median, 99th percentile and the longest.
 */
export async function sagaLatency(
  orderDb: Database,
  orderIds: readonly string[],
): Promise<{ p50: number; p99: number; max: number }> {
  const { rows } = await orderDb.query<{ p50: number; p99: number; max: number }>(
    `with final as (
       select o.order_id, extract(epoch from min(e.recorded_at) - o.created_at) * 1000 as ms
       from orders o join order_events e on e.order_id = o.order_id
       where o.order_id = any($1::text[]) and e.type = any($2::text[])
       group by o.order_id, o.created_at)
     select round(percentile_cont(0.5) within group (order by ms))::int as p50,
            round(percentile_cont(0.99) within group (order by ms))::int as p99,
            round(max(ms))::int as max
     from final`,
    [orderIds, finalEventTypes],
  );
  return rows[0]!;
}
