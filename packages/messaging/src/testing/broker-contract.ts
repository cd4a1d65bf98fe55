import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Broker, Delivery, Subscription, SubscriptionHandle } from '../broker.ts';
import { createMessage, type Message } from '../message.ts';
import { sleep, waitFor } from './wait-for.ts';

/** What an adapter provides to run the contract suite against a real backing server. */
export interface BrokerContractHarness {
  /**
   * A new broker instance on the same backing store, as another process would open it.
   * The suite closes every broker it connects.
   */
  connect(): Promise<Broker>;
  /** Removes whatever the suite created (streams, schemas). */
  dispose(): Promise<void>;
}

export interface BrokerContractOptions {
  /** When set, the suite is reported as skipped with this reason. */
  readonly skip?: string | undefined;
}

interface Received {
  readonly message: Message<{ n: number }>;
  readonly attempt: number;
  readonly at: number;
  readonly delivery: Delivery;
}

/**
 * The behaviour every `Broker` adapter must show. Each test uses its own event types and
 * groups, so one harness (one stream, one schema) serves the whole suite.
 */
export function describeBrokerContract(
  adapter: string,
  setup: () => Promise<BrokerContractHarness>,
  options: BrokerContractOptions = {},
): void {
  const title = options.skip
    ? `Broker contract: ${adapter} (skipped: ${options.skip})`
    : `Broker contract: ${adapter}`;
  describe.skipIf(options.skip !== undefined)(title, () => {
    let harness: BrokerContractHarness;
    const open: Broker[] = [];
    const handles: SubscriptionHandle[] = [];

    beforeAll(async () => {
      harness = await setup();
    });
    afterEach(async () => {
      for (const handle of handles.splice(0)) await handle.stop();
      for (const broker of open.splice(0)) await broker.close();
    });
    afterAll(async () => {
      await harness?.dispose();
    });

    const connect = async (): Promise<Broker> => {
      const broker = await harness.connect();
      open.push(broker);
      return broker;
    };
    const names = () => {
      const tag = randomUUID().slice(0, 8);
      return { type: `contract_${tag}`, other: `contract_other_${tag}`, group: `g_${tag}` };
    };
    const messages = (type: string, count: number, subject = 'k1') =>
      Array.from({ length: count }, (_, n) =>
        createMessage({ type, source: '/contract', subject, data: { n } }),
      );

    /** Subscribes and records every delivery; `settle` decides what to do with each. */
    const record = async (
      broker: Broker,
      subscription: Subscription,
      settle: (received: Received) => Promise<void> | void = (r) => r.delivery.ack(),
    ) => {
      const received: Received[] = [];
      const handle = await broker.subscribe(subscription, async (delivery) => {
        const entry: Received = {
          message: delivery.body as Message<{ n: number }>,
          attempt: delivery.attempt,
          at: Date.now(),
          delivery,
        };
        received.push(entry);
        await settle(entry);
      });
      handles.push(handle);
      return { received, handle };
    };
    const ns = (list: readonly Received[]) => list.map((r) => r.message.data.n);

    it('delivers every published message once, with its envelope intact, in publish order', async () => {
      const { type, group } = names();
      const broker = await connect();
      const { received } = await record(broker, { group, types: [type], mode: 'competing' });
      const sent = messages(type, 20);
      await broker.publish(sent.slice(0, 10));
      await broker.publish(sent.slice(10));
      await waitFor('20 deliveries', () => received.length >= 20);
      await sleep(200);
      expect(received.map((r) => r.message)).toEqual(sent);
      expect(received.every((r) => r.attempt === 1)).toBe(true);
    });

    it('delivers only the subscribed types', async () => {
      const { type, other, group } = names();
      const broker = await connect();
      const { received } = await record(broker, { group, types: [type], mode: 'competing' });
      await broker.publish([...messages(other, 3), ...messages(type, 2), ...messages(other, 3)]);
      await waitFor('2 deliveries', () => received.length >= 2);
      await sleep(300);
      expect(received.map((r) => r.message.type)).toEqual([type, type]);
    });

    it('gives a new competing group the messages published before it subscribed', async () => {
      const { type, group } = names();
      const broker = await connect();
      await broker.publish(messages(type, 3));
      const { received } = await record(broker, { group, types: [type], mode: 'competing' });
      await waitFor('3 deliveries', () => received.length >= 3);
      expect(ns(received)).toEqual([0, 1, 2]);
    });

    it('delivers every message to each of two groups', async () => {
      const { type, group } = names();
      const broker = await connect();
      const a = await record(broker, { group: `${group}_a`, types: [type], mode: 'competing' });
      const b = await record(broker, { group: `${group}_b`, types: [type], mode: 'competing' });
      await broker.publish(messages(type, 5));
      await waitFor(
        '5 deliveries to each group',
        () => a.received.length >= 5 && b.received.length >= 5,
      );
      expect(ns(a.received)).toEqual([0, 1, 2, 3, 4]);
      expect(ns(b.received)).toEqual([0, 1, 2, 3, 4]);
    });

    it('shares the messages of a group between competing members, each message to one', async () => {
      const { type, group } = names();
      const subscription: Subscription = {
        group,
        types: [type],
        mode: 'competing',
        maxInFlight: 1,
      };
      // Member A holds its first delivery, so every other message must go to member B.
      const a = await record(await connect(), subscription, () => undefined);
      const b = await record(await connect(), subscription);
      await broker(open).publish(
        Array.from({ length: 10 }, (_, n) =>
          createMessage({ type, source: '/contract', subject: `k${n}`, data: { n } }),
        ),
      );
      await waitFor(
        '10 deliveries over both members',
        () => a.received.length + b.received.length >= 10,
      );
      await sleep(300);
      const all = [...ns(a.received), ...ns(b.received)].sort((x, y) => x - y);
      expect(all).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(a.received.length).toBe(1);
      expect(b.received.length).toBe(9);
      await a.received[0]?.delivery.ack();
    });

    it("keeps a group's progress across a restart and redelivers what was not acked", async () => {
      const { type, group } = names();
      const subscription: Subscription = {
        group,
        types: [type],
        mode: 'competing',
        maxInFlight: 1,
        ackTimeoutMs: 1_000,
      };
      const first = await connect();
      await first.publish(messages(type, 5));
      // Ack the first three, leave the fourth unsettled, then "crash".
      const before = await record(first, subscription, (r) =>
        r.message.data.n < 3 ? r.delivery.ack() : undefined,
      );
      await waitFor('4 deliveries before the restart', () => before.received.length >= 4);
      await before.handle.stop();
      await first.close();
      open.splice(open.indexOf(first), 1);

      const second = await connect();
      const after = await record(second, subscription);
      await waitFor('2 deliveries after the restart', () => after.received.length >= 2, {
        timeoutMs: 15_000,
      });
      await sleep(300);
      expect(ns(after.received)).toEqual([3, 4]);
      expect(after.received[0]?.attempt).toBe(2);
    });

    it('broadcasts every message published after subscribing to every instance', async () => {
      const { type, group } = names();
      const one = await connect();
      const two = await connect();
      await one.publish(messages(type, 2));
      const subscription: Subscription = { group, types: [type], mode: 'broadcast' };
      const a = await record(one, subscription);
      const b = await record(two, subscription);
      await one.publish(messages(type, 4).map((m, n) => ({ ...m, data: { n: n + 10 } })));
      await waitFor(
        '4 deliveries to each instance',
        () => a.received.length >= 4 && b.received.length >= 4,
      );
      await sleep(300);
      expect(ns(a.received)).toEqual([10, 11, 12, 13]);
      expect(ns(b.received)).toEqual([10, 11, 12, 13]);
    });

    it('redelivers a retried message no sooner than the delay, with the next attempt number', async () => {
      const { type, group } = names();
      const broker = await connect();
      const { received } = await record(broker, { group, types: [type], mode: 'competing' }, (r) =>
        r.attempt < 3 ? r.delivery.retry(300) : r.delivery.ack(),
      );
      await broker.publish(messages(type, 1));
      await waitFor('3 attempts', () => received.length >= 3);
      await sleep(500);
      expect(received.map((r) => r.attempt)).toEqual([1, 2, 3]);
      const [first, second, third] = received.map((r) => r.at) as [number, number, number];
      expect(second - first).toBeGreaterThanOrEqual(280);
      expect(third - second).toBeGreaterThanOrEqual(280);
    });

    it('redelivers a delivery that is not settled within the ack timeout', async () => {
      const { type, group } = names();
      const broker = await connect();
      const { received } = await record(
        broker,
        { group, types: [type], mode: 'competing', ackTimeoutMs: 1_000 },
        (r) => (r.attempt === 1 ? undefined : r.delivery.ack()),
      );
      await broker.publish(messages(type, 1));
      await waitFor('a redelivery', () => received.length >= 2, { timeoutMs: 15_000 });
      expect(received.map((r) => r.attempt)).toEqual([1, 2]);
      expect(received[1]!.at - received[0]!.at).toBeGreaterThanOrEqual(900);
    });

    it('keeps a delivery that is kept alive with working(), and redelivers it once that stops', async () => {
      const { type, group } = names();
      const broker = await connect();
      const { received } = await record(
        broker,
        { group, types: [type], mode: 'competing', ackTimeoutMs: 1_000 },
        (r) => (r.attempt === 1 ? undefined : r.delivery.ack()),
      );
      await broker.publish(messages(type, 1));
      await waitFor('the first delivery', () => received.length >= 1);
      const held = received[0]!.delivery;
      const keepAlive = setInterval(() => void held.working(), 250);
      try {
        // Three leases long: without the keep-alives it would have come back twice by now.
        await sleep(3_000);
        expect(received.map((r) => r.attempt)).toEqual([1]);
      } finally {
        clearInterval(keepAlive);
      }
      const stoppedAt = Date.now();
      await waitFor('a redelivery once the keep-alives stopped', () => received.length >= 2, {
        timeoutMs: 15_000,
      });
      expect(received.map((r) => r.attempt)).toEqual([1, 2]);
      expect(received[1]!.at - stoppedAt).toBeGreaterThanOrEqual(500);
      // Keeping a settled delivery alive does nothing, and does not fail.
      await received[1]!.delivery.working();
    });

    it('never redelivers a rejected message, and keeps delivering the next ones', async () => {
      const { type, group } = names();
      const broker = await connect();
      const { received } = await record(
        broker,
        { group, types: [type], mode: 'competing', ackTimeoutMs: 1_000 },
        (r) => (r.message.data.n === 0 ? r.delivery.reject() : r.delivery.ack()),
      );
      await broker.publish(messages(type, 3));
      await waitFor('3 deliveries', () => received.length >= 3);
      await sleep(1_500);
      expect(ns(received)).toEqual([0, 1, 2]);
    });

    it('stores a message published twice with the same id once', async () => {
      const { type, group } = names();
      const broker = await connect();
      const [message] = messages(type, 1);
      await broker.publish([message!]);
      await broker.publish([message!]);
      await broker.publish(messages(type, 1).map((m) => ({ ...m, data: { n: 1 } })));
      const { received } = await record(broker, { group, types: [type], mode: 'competing' });
      await waitFor('2 deliveries', () => received.length >= 2);
      await sleep(300);
      expect(ns(received)).toEqual([0, 1]);
    });

    it('calls the handler no more once stop() has resolved', async () => {
      const { type, group } = names();
      const broker = await connect();
      const { received, handle } = await record(broker, {
        group,
        types: [type],
        mode: 'competing',
      });
      await broker.publish(messages(type, 2));
      await waitFor('2 deliveries', () => received.length >= 2);
      await handle.stop();
      await broker.publish(messages(type, 2));
      await sleep(500);
      expect(received.length).toBe(2);
    });

    it('counts what a competing group has not settled, in flight and waiting for a retry included', async () => {
      const { type, other, group } = names();
      const broker = await connect();
      const pendingNow = () => broker.pending(group, [type]);
      const pendingReaches = (count: number) =>
        waitFor(`${count} pending`, async () => (await pendingNow()) === count);
      // One key each, so that all five can be in flight at once.
      const sent = Array.from({ length: 5 }, (_, n) =>
        createMessage({ type, source: '/contract', subject: `k${n}`, data: { n } }),
      );
      await broker.publish([...messages(other, 3), ...sent, ...messages(other, 2)]);
      // Not subscribed yet: a new group would receive every stored message of its types.
      expect(await pendingNow()).toBe(5);

      const { received } = await record(
        broker,
        { group, types: [type], mode: 'competing', ackTimeoutMs: 30_000 },
        () => undefined,
      );
      await waitFor('5 deliveries', () => received.length >= 5);
      expect(await pendingNow()).toBe(5);

      for (const r of received.slice(0, 2)) await r.delivery.ack();
      await pendingReaches(3);
      await received[2]!.delivery.retry(300);
      expect(await pendingNow()).toBe(3);
      await received[3]!.delivery.reject();
      await received[4]!.delivery.ack();
      await pendingReaches(1);

      await waitFor('the retried redelivery', () => received.length >= 6);
      expect(await pendingNow()).toBe(1);
      await received[5]!.delivery.ack();
      await pendingReaches(0);
      await broker.publish(messages(other, 2));
      expect(await pendingNow()).toBe(0);
    });

    it('counts pending messages per group, summed over the types asked for', async () => {
      const { type, other, group } = names();
      const broker = await connect();
      const types = [type, other];
      await broker.publish([...messages(type, 2), ...messages(other, 3)]);
      const { received } = await record(broker, { group: `${group}_a`, types, mode: 'competing' });
      await waitFor('5 deliveries', () => received.length >= 5);
      await waitFor(
        'group a settled everything',
        async () => (await broker.pending(`${group}_a`, types)) === 0,
      );
      expect(await broker.pending(`${group}_b`, types)).toBe(5);
      expect(await broker.pending(`${group}_b`, [type])).toBe(2);
      expect(await broker.pending(`${group}_b`, [])).toBe(0);
    });

    it('keeps the publish order of one subject through many in-flight deliveries', async () => {
      const { type, group } = names();
      const broker = await connect();
      const { received } = await record(broker, {
        group,
        types: [type],
        mode: 'competing',
        maxInFlight: 256,
      });
      const sent = messages(type, 300);
      for (let i = 0; i < sent.length; i += 50) await broker.publish(sent.slice(i, i + 50));
      await waitFor('300 deliveries', () => received.length >= 300);
      expect(ns(received)).toEqual(sent.map((m) => m.data.n));
    });
  });
}

function broker(open: readonly Broker[]): Broker {
  const first = open[0];
  if (!first) throw new Error('no broker connected');
  return first;
}
