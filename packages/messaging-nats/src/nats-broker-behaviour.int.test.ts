import { createMessage, type Delivery, type Message } from '@cads/messaging';
import { sleep, waitFor } from '@cads/messaging/testing';
import { natsSkipReason, natsUrl, uniqueName } from '@cads/testing';
import { jetstream, type JetStreamManager, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createNatsBroker, type NatsBrokerOptions } from './nats-broker.ts';
import { startTcpProxy } from './tcp-proxy.ts';

const skip = await natsSkipReason();
type Numbered = Message<{ n: number }>;

describe.skipIf(skip !== undefined)(`NATS JetStream broker${skip ? ` (${skip})` : ''}`, () => {
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  /** Run last-registered first: brokers close before their proxy, streams go last. */
  const cleanups: Array<() => Promise<unknown>> = [];

  beforeAll(async () => {
    nc = await connect({ servers: natsUrl });
    jsm = await jetstreamManager(nc);
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  afterAll(async () => {
    await nc?.close();
  });

  /** A stream and subject space of its own: the server is shared with other test runs. */
  const space = () => {
    const stream = uniqueName('CADS_NATS');
    const subjectPrefix = uniqueName('nats');
    cleanups.push(() => jsm.streams.delete(stream).catch(() => false));
    const open = async (options: Partial<NatsBrokerOptions> = {}) => {
      const broker = await createNatsBroker({
        servers: natsUrl,
        stream,
        subjectPrefix,
        ...options,
      });
      cleanups.push(() => broker.close());
      return broker;
    };
    return { stream, subjectPrefix, open };
  };
  const consumerNames = async (stream: string) => {
    const names: string[] = [];
    for await (const info of jsm.consumers.list(stream)) names.push(info.name);
    return names.sort();
  };
  const numbered = (type: string, count: number, from = 0) =>
    Array.from({ length: count }, (_, i) =>
      createMessage({ type, source: '/nats-test', subject: 'k', data: { n: from + i } }),
    );
  const nOf = (delivery: Delivery) => (delivery.body as Numbered).data.n;
  const ack = (delivery: Delivery) => void delivery.ack();

  it('provisions the stream and consumers idempotently when processes start together', async () => {
    const { stream, open } = space();
    const [a, b] = await Promise.all([open(), open({ duplicateWindowMs: 60_000 })]);
    const seen: number[] = [];
    const handler = (delivery: Delivery) => {
      seen.push(nOf(delivery));
      ack(delivery);
    };
    const subscription = { group: 'g', types: ['t1', 't2'], mode: 'competing' as const };
    await Promise.all([
      a.subscribe(subscription, handler),
      b.subscribe(subscription, handler),
      b.subscribe(subscription, handler),
    ]);
    expect(await consumerNames(stream)).toEqual(['g__t1', 'g__t2']);

    await a.publish([...numbered('t1', 5), ...numbered('t2', 5, 5)]);
    await waitFor('10 deliveries', () => seen.length >= 10);
    await sleep(200);
    expect(seen.sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);

    // A member started with other settings brings the existing consumer in line.
    await a.subscribe({ ...subscription, ackTimeoutMs: 5_000 }, handler);
    expect((await jsm.consumers.info(stream, 'g__t1')).config.ack_wait).toBe(5e9);
  });

  it('deletes the broadcast consumers of a subscriber when it stops, and only those', async () => {
    const { stream, open } = space();
    const one = await open();
    const two = await open();
    const subscription = { group: 'bff', types: ['a', 'b.c'], mode: 'broadcast' as const };
    const first = await one.subscribe(subscription, ack);
    const second = await two.subscribe(subscription, ack);
    const names = await consumerNames(stream);
    expect(names).toHaveLength(4);
    expect(names.filter((name) => name.endsWith(one.instanceId))).toHaveLength(2);

    await first.stop();
    const left = await consumerNames(stream);
    expect(left).toHaveLength(2);
    expect(left.every((name) => name.endsWith(two.instanceId))).toBe(true);
    await second.stop();
    expect(await consumerNames(stream)).toEqual([]);
  });

  it('stores a message once when two broker instances publish the same id', async () => {
    const { stream, open } = space();
    const a = await open();
    const b = await open();
    const [message] = numbered('dup', 1);
    await Promise.all([a.publish([message!]), b.publish([message!])]);
    await b.publish([message!]);
    expect((await jsm.streams.info(stream)).state.messages).toBe(1);
  });

  it('hands over a payload that is not JSON as a string and keeps delivering', async () => {
    const { subjectPrefix, open } = space();
    const broker = await open();
    const bodies: unknown[] = [];
    await broker.subscribe({ group: 'g', types: ['raw'], mode: 'competing' }, (delivery) => {
      bodies.push(delivery.body);
      ack(delivery);
    });
    await jetstream(nc).publish(`${subjectPrefix}.raw`, 'not json {');
    await broker.publish(numbered('raw', 1));
    await waitFor('2 deliveries', () => bodies.length >= 2);
    expect(bodies[0]).toBe('not json {');
    expect(bodies[1]).toMatchObject({ type: 'raw', data: { n: 0 } });
  });

  it('retries a delivery whose handler throws, without holding up the others', async () => {
    const { open } = space();
    const broker = await open();
    const seen: Array<{ n: number; attempt: number; at: number }> = [];
    await broker.subscribe({ group: 'g', types: ['boom'], mode: 'competing' }, (delivery) => {
      const n = nOf(delivery);
      seen.push({ n, attempt: delivery.attempt, at: Date.now() });
      if (delivery.attempt === 1 && n === 0) throw new Error('handler bug');
      if (delivery.attempt === 1 && n === 1) return Promise.reject(new Error('async handler bug'));
      ack(delivery);
      return undefined;
    });
    await broker.publish(numbered('boom', 3));
    await waitFor('both retries', () => seen.filter((s) => s.attempt === 2).length >= 2);
    expect(seen.slice(0, 3).map((s) => [s.n, s.attempt])).toEqual([
      [0, 1],
      [1, 1],
      [2, 1],
    ]);
    const retry = seen.find((s) => s.n === 0 && s.attempt === 2)!;
    expect(retry.at - seen[0]!.at).toBeGreaterThanOrEqual(900);
  });

  it('never holds more than maxInFlight messages over several types, and serves every type', async () => {
    const { stream, open } = space();
    const broker = await open();
    const types = ['x', 'y', 'z'];
    const held: Delivery[] = [];
    const got = new Map<string, number[]>();
    let release = false;
    await broker.subscribe({ group: 'g', types, mode: 'competing', maxInFlight: 4 }, (delivery) => {
      const message = delivery.body as Numbered;
      got.set(message.type, [...(got.get(message.type) ?? []), message.data.n]);
      held.push(delivery);
      if (release) ack(delivery);
    });
    await broker.publish(
      Array.from({ length: 10 }, (_, n) => types.flatMap((type) => numbered(type, 1, n))).flat(),
    );
    const onServer = async () => {
      let pending = 0;
      let waiting = 0;
      for (const type of types) {
        const info = await jsm.consumers.info(stream, `g__${type}`);
        pending += info.num_ack_pending;
        waiting += info.num_waiting;
      }
      return { pending, waiting };
    };
    await waitFor('4 held deliveries', () => held.length >= 4);
    await waitFor('no pull request left open', async () => (await onServer()).waiting === 0);
    expect(await onServer()).toEqual({ pending: 4, waiting: 0 });
    expect(held).toHaveLength(4);

    release = true;
    for (const delivery of held) ack(delivery);
    await waitFor('all 30 messages', () => held.length >= 30);
    for (const type of types) expect(got.get(type)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('keeps delivering after its connection is cut', async () => {
    const { open } = space();
    const proxy = await startTcpProxy(natsUrl);
    cleanups.push(() => proxy.close());
    const logged: string[] = [];
    const record = (_fields: object, message?: string) => void logged.push(message ?? '');
    const cut = await open({
      servers: proxy.url,
      connection: { reconnectTimeWait: 100 },
      log: { debug: record, info: record, warn: record, error: record },
    });
    const direct = await open();
    const seen = new Set<number>();
    await cut.subscribe(
      { group: 'g', types: ['cut'], mode: 'competing', ackTimeoutMs: 2_000 },
      (delivery) => {
        seen.add(nOf(delivery));
        ack(delivery);
      },
    );
    await direct.publish(numbered('cut', 5));
    await waitFor('5 deliveries', () => seen.size >= 5);
    proxy.cut();
    await direct.publish(numbered('cut', 5, 5));
    await waitFor('10 deliveries after the reconnect', () => seen.size >= 10, {
      timeoutMs: 20_000,
    });
    expect(logged).toContain('NATS connection re-established');
  });

  it('lets the server delete the broadcast consumers of a process that died', async () => {
    const { stream, open } = space();
    const proxy = await startTcpProxy(natsUrl);
    cleanups.push(() => proxy.close());
    const dying = await open({
      servers: proxy.url,
      broadcastInactiveMs: 1_000,
      connection: { reconnectTimeWait: 100 },
    });
    await dying.subscribe(
      { group: 'bff', types: ['gone'], mode: 'broadcast', ackTimeoutMs: 500 },
      ack,
    );
    expect(await consumerNames(stream)).toHaveLength(1);
    proxy.refuse(true);
    proxy.cut();
    await waitFor(
      'the server to expire the consumer',
      async () => {
        return (await consumerNames(stream)).length === 0;
      },
      { timeoutMs: 25_000, intervalMs: 250 },
    );
    // Let it reconnect, so that closing it is quick.
    proxy.refuse(false);
  }, 45_000);

  it('provisions a consumer again when it is deleted under a running subscription', async () => {
    const { stream, open } = space();
    const broker = await open();
    const seen: number[] = [];
    await broker.subscribe({ group: 'g', types: ['heal'], mode: 'competing' }, (delivery) => {
      seen.push(nOf(delivery));
      ack(delivery);
    });
    await broker.publish(numbered('heal', 1));
    await waitFor('the first delivery', () => seen.length >= 1);
    // nats-server 2.9 may refuse a deletion racing with its own write of the consumer's state
    // ("unlinkat …: directory not empty"); the operator would simply delete it again.
    await waitFor('the consumer deleted', () =>
      jsm.consumers.delete(stream, 'g__heal').then(
        () => true,
        (error: unknown) => {
          if (String(error).includes('directory not empty')) return false;
          // The refused attempt may have removed it after all.
          if (String(error).includes('consumer not found')) return true;
          throw error;
        },
      ),
    );
    await broker.publish(numbered('heal', 1, 1));
    await waitFor('the message published after the deletion', () => seen.includes(1), {
      timeoutMs: 20_000,
    });
  });
});
