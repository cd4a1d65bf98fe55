import { type HandlerContext, listDeadLetters } from '@cads/consumer';
import { type Message, silentLogger } from '@cads/messaging';
import { waitFor } from '@cads/messaging/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orderTracker } from '../order-tracker.ts';
import { readOrderStatus } from '../store/orders.ts';
import {
  placeOrder,
  type OrderHarness,
  outcome,
  seedData,
  startOrderHarness,
  readOrder,
} from '../testing/order-harness.ts';
import { recordOutcome } from './on-outcome.ts';

type Outcome = ReturnType<typeof outcome>;

interface View {
  orderId: string;
  status: number;
  statusText: string;
  priceCents: number;
  rejection?: { step: string; reason: string };
  compensated: string[];
  receiptId?: string;
  riderName?: string;
  restaurantPhone?: string;
  timeline: { type: string; time: string; data: Record<string, unknown> }[];
}

/** The seed's four final outcomes: the events each produces, in saga order. */
const seedCases = [
  {
    name: 'all accept',
    events: ['restaurant_reserved', 'rider_assigned', 'payment_done'],
    expected: { status: 2, statusText: 'completed', compensated: [] },
  },
  {
    name: 'restaurant rejects',
    events: ['restaurant_cancelled'],
    expected: {
      status: 5,
      statusText: 'cancelled',
      rejection: { step: 'restaurant', reason: 'restaurant busy' },
      compensated: [],
    },
  },
  {
    name: 'rider rejects',
    events: ['restaurant_reserved', 'rider_cancelled', 'restaurant_compensated'],
    expected: {
      status: 5,
      statusText: 'cancelled',
      rejection: { step: 'rider', reason: 'no rider available' },
      compensated: ['restaurant'],
    },
  },
  {
    name: 'payment rejects',
    events: [
      'restaurant_reserved',
      'rider_assigned',
      'payment_cancelled',
      'restaurant_compensated',
      'rider_compensated',
    ],
    expected: {
      status: 5,
      statusText: 'cancelled',
      rejection: { step: 'payment', reason: 'card declined' },
      compensated: ['restaurant', 'rider'],
    },
  },
] as const;

/** Arrival orders tried for each case: as produced, reversed, and rotated by one. */
const arrivals: Record<string, <T>(items: readonly T[]) => T[]> = {
  'in saga order': (items) => [...items],
  reversed: (items) => [...items].reverse(),
  rotated: (items) => [...items.slice(1), ...items.slice(0, 1)],
};

describe('order consumes saga outcomes (PGlite)', () => {
  let harness: OrderHarness;

  beforeAll(async () => {
    harness = await startOrderHarness();
  });
  afterAll(async () => {
    await harness?.close();
  });

  const place = (userId: string) => placeOrder(harness, userId);
  const view = async (orderId: string) => {
    const response = await readOrder(harness, orderId);
    expect(response.statusCode).toBe(200);
    return response.json<View>();
  };
  const countEvents = async (orderId: string) => {
    const { rows } = await harness.db.query<{ n: number }>(
      'select count(*)::int as n from order_events where order_id = $1',
      [orderId],
    );
    return rows[0]?.n ?? 0;
  };
  /** Events of `types` for the order, stamped one second apart in saga order. */
  const sagaEvents = (order: { orderId: string; userId: string }, types: readonly string[]) => {
    const start = Date.now();
    return types.map((type, index) =>
      outcome(type, order, seedData[type] ?? {}, { time: new Date(start + (index + 1) * 1000) }),
    );
  };

  it('reaches each seed outcome whatever the arrival order, with the same view', async () => {
    const runs = await Promise.all(
      seedCases.flatMap((seedCase) =>
        Object.entries(arrivals).map(async ([arrival, arrange]) => {
          const order = await place(`user-${seedCase.events.length}`);
          const events = sagaEvents(order, seedCase.events);
          // One publish per event, in the arrival order: the broker keeps it per order.
          for (const event of arrange(events)) await harness.broker.publish([event]);
          return { seedCase, arrival, order };
        }),
      ),
    );
    const views = new Map<string, View[]>();
    for (const { seedCase, arrival, order } of runs) {
      await waitFor(`${seedCase.name} ${arrival}: every event recorded`, async () =>
        (await countEvents(order.orderId)) === seedCase.events.length + 1 ? true : undefined,
      );
      const current = await view(order.orderId);
      expect(current, `${seedCase.name}, ${arrival}`).toMatchObject(seedCase.expected);
      expect(await readOrderStatus(harness.db, order.orderId)).toBe(seedCase.expected.status);
      expect(current.timeline.map((entry) => entry.type)).toEqual([
        'order_created',
        ...seedCase.events,
      ]);
      views.set(seedCase.name, [...(views.get(seedCase.name) ?? []), current]);
    }
    for (const [name, sameCase] of views) {
      const shape = ({ status, rejection, compensated, priceCents, timeline }: View) => ({
        status,
        rejection,
        compensated,
        priceCents,
        timeline: timeline.map(({ type, data }) => ({ type, status: data.status })),
      });
      const [first, ...rest] = sameCase.map(shape);
      for (const other of rest) expect(other, name).toEqual(first);
    }
  });

  it('shows every detail of a completed order', async () => {
    const order = await place('details-user');
    await harness.broker.publish(sagaEvents(order, seedCases[0].events));
    await waitFor(
      'completed',
      async () => (await readOrderStatus(harness.db, order.orderId)) === 2,
    );
    expect(await view(order.orderId)).toMatchObject({
      status: 2,
      priceCents: 5230,
      restaurantPhone: '+34 91 555 02 64',
      restaurantAddress: 'Calle del Pez 7, Madrid',
      riderId: 'rider-7',
      riderName: 'Ana',
      riderPhone: '+34 600 000 007',
      receiptId: 'receipt-1',
      amountCents: 5230,
    });
  });

  it('never lets a late forward event overwrite a cancellation', async () => {
    const order = await place('late-user');
    const [reserved, cancelled, paid] = sagaEvents(order, [
      'restaurant_reserved',
      'rider_cancelled',
      'payment_done',
    ]) as [Message, Message, Message];
    await harness.broker.publish([cancelled]);
    await waitFor(
      'cancelled',
      async () => (await readOrderStatus(harness.db, order.orderId)) === 5,
    );
    await harness.broker.publish([reserved, paid]);
    await waitFor('late events recorded', async () => (await countEvents(order.orderId)) === 4);
    expect(await readOrderStatus(harness.db, order.orderId)).toBe(5);
    expect((await view(order.orderId)).rejection).toEqual({
      step: 'rider',
      reason: 'no rider available',
    });
  });

  it('ignores a duplicate: the same id twice, or the same event under a new id', async () => {
    const order = await place('duplicate-user');
    const events = sagaEvents(order, seedCases[0].events);
    await harness.broker.publish(events);
    await waitFor('completed', async () => (await countEvents(order.orderId)) === 4);
    const before = await view(order.orderId);
    expect(before.status).toBe(2);

    const reserved = events[0] as Message;
    // A producer's retry under a new id, stamped after the original.
    const copy = outcome('restaurant_reserved', order, seedData.restaurant_reserved ?? {}, {
      time: new Date(Date.parse(reserved.time) + 60_000),
    });
    expect(copy.id).not.toBe(reserved.id);
    // Same key, so handled in this order: once the copy is recorded, the re-sent one was seen.
    await harness.broker.publish([reserved]);
    await harness.broker.publish([copy]);
    await waitFor('the copy audited', async () => (await countEvents(order.orderId)) === 5);

    expect(await view(order.orderId)).toEqual(before);
    expect(await readOrderStatus(harness.db, order.orderId)).toBe(2);
  });

  it('records an outcome in one statement, plus one when the status changes', async () => {
    const order = await place('counting-user');
    const [reserved, assigned] = sagaEvents(order, ['restaurant_reserved', 'rider_assigned']) as [
      Outcome,
      Outcome,
    ];
    /** Handles `message` directly (no broker, no inbox) and counts its statements. */
    const statements = (message: Outcome) =>
      harness.db.transaction(async (tx) => {
        let count = 0;
        const context: HandlerContext = {
          tx: { query: (statement, values) => ((count += 1), tx.query(statement, values)) },
          emit: () => {
            throw new Error('recording an outcome emits nothing');
          },
          log: silentLogger,
          attempt: 1,
        };
        await recordOutcome(message, context, orderTracker());
        return count;
      });

    expect(await statements(reserved)).toBe(2); // created → updated
    expect(await statements(assigned)).toBe(1); // still updated
    expect(await statements(assigned)).toBe(1); // the same id again
    expect(await readOrderStatus(harness.db, order.orderId)).toBe(1);
    expect(await countEvents(order.orderId)).toBe(3);
  });

  it('dead-letters an invalid or foreign outcome while other orders complete', async () => {
    const broken = await place('broken-user');
    const healthy = await place('healthy-user');
    const invalid = outcome('restaurant_reserved', broken, {
      ...seedData.restaurant_reserved,
      priceCents: -1,
    });
    const unknownOrder = outcome(
      'payment_done',
      { orderId: '0197aaaa-0000-7000-8000-000000000000', userId: 'ghost' },
      seedData.payment_done ?? {},
    );
    const wrongUser = outcome(
      'rider_cancelled',
      { orderId: broken.orderId, userId: 'somebody-else' },
      seedData.rider_cancelled ?? {},
    );
    await harness.broker.publish([invalid, unknownOrder, wrongUser]);
    await harness.broker.publish(sagaEvents(healthy, seedCases[0].events));

    await waitFor('healthy order completed', async () =>
      (await readOrderStatus(harness.db, healthy.orderId)) === 2 ? true : undefined,
    );
    const letters = await waitFor('three dead letters', async () => {
      const found = await listDeadLetters(harness.db, { consumer: 'order' });
      return found.length >= 3 ? found : undefined;
    });
    const byId = new Map(letters.map((letter) => [letter.messageId, letter]));
    expect(byId.get(invalid.id)).toMatchObject({
      reason: 'invalid_payload',
      errorMessage: expect.stringContaining('priceCents') as string,
    });
    expect(byId.get(unknownOrder.id)).toMatchObject({
      reason: 'terminal_error',
      errorMessage: expect.stringContaining('unknown order') as string,
    });
    expect(byId.get(wrongUser.id)).toMatchObject({
      reason: 'terminal_error',
      errorMessage: expect.stringContaining('another user') as string,
    });
    expect(await readOrderStatus(harness.db, broken.orderId)).toBe(0);
    expect(await countEvents(broken.orderId)).toBe(1);
  });
});
