import { createMessage, type Delivery, type Subscription } from '@cads/messaging';
import { describe, expect, it } from 'vitest';
import { createScriptedBroker, type ScriptedBroker } from './scripted-broker.ts';

const message = (type: string, id?: string) =>
  createMessage({
    type,
    source: 'test',
    subject: 's1',
    data: { id: 's1' },
    ...(id === undefined ? {} : { id }),
  });

/** Subscribes a member that records each delivery and settles it with `settle` (ack by default). */
const member = async (
  broker: ScriptedBroker,
  group: string,
  types: readonly string[],
  settle: (delivery: Delivery) => void | Promise<void> = (delivery) => delivery.ack(),
  mode: Subscription['mode'] = 'competing',
) => {
  const received: Delivery[] = [];
  const handle = await broker.subscribe({ group, types, mode }, (delivery) => {
    received.push(delivery);
    return settle(delivery);
  });
  return { received, handle };
};

const queued = (broker: ScriptedBroker) =>
  broker.queue.map(({ subscriber, message, attempt }) => [subscriber, message.type, attempt]);

describe('scripted broker', () => {
  it('delivers nothing until it is told which queued message goes next', async () => {
    const broker = createScriptedBroker();
    const { received } = await member(broker, 'billing', ['a_done']);
    const sent = message('a_done');

    await broker.publish([sent]);

    expect(received).toEqual([]);
    expect(queued(broker)).toEqual([['billing', 'a_done', 1]]);
    await broker.deliver(0);
    expect(received).toHaveLength(1);
    expect(received[0]?.attempt).toBe(1);
    // The subscriber gets the message as it was on the wire, not the publisher's object.
    expect(received[0]?.body).toEqual(sent);
    expect(received[0]?.body).not.toBe(sent);
  });

  it('queues each message once for each competing group of its type, and not for the others', async () => {
    const broker = createScriptedBroker();
    await member(broker, 'billing', ['a_done']);
    await member(broker, 'shipping', ['a_done', 'b_done']);

    await broker.publish([message('a_done'), message('b_done'), message('c_done')]);

    expect(queued(broker)).toEqual([
      ['billing', 'a_done', 1],
      ['shipping', 'a_done', 1],
      ['shipping', 'b_done', 1],
    ]);
    expect(broker.subscribersOf('a_done')).toEqual(['billing', 'shipping']);
    expect(broker.subscribersOf('c_done')).toEqual([]);
    expect(broker.published.map((sent) => sent.type)).toEqual(['a_done', 'b_done', 'c_done']);
  });

  it('refuses a second member of a competing group', async () => {
    const broker = createScriptedBroker();
    await member(broker, 'billing', ['a_done']);

    await expect(member(broker, 'billing', ['a_done'])).rejects.toThrow(
      'billing already has a member',
    );
  });

  it('stores and queues a republished id once', async () => {
    const broker = createScriptedBroker();
    await member(broker, 'billing', ['a_done']);
    const sent = message('a_done');

    await broker.publish([sent, sent]);
    await broker.publish([message('a_done', sent.id)]);

    expect(broker.published).toEqual([sent]);
    expect(queued(broker)).toEqual([['billing', 'a_done', 1]]);
  });

  it('resolves an acked delivery to acked and takes it off the queue', async () => {
    const broker = createScriptedBroker();
    await member(broker, 'billing', ['a_done', 'b_done']);
    await broker.publish([message('a_done'), message('b_done')]);

    await expect(broker.deliver(1)).resolves.toBe('acked');

    expect(queued(broker)).toEqual([['billing', 'a_done', 1]]);
  });

  it('queues a delivery again with the next attempt when its ack is lost', async () => {
    const broker = createScriptedBroker();
    const { received } = await member(broker, 'billing', ['a_done']);
    await broker.publish([message('a_done')]);

    await expect(broker.deliver(0, { ackLost: true })).resolves.toBe('acked');
    expect(queued(broker)).toEqual([['billing', 'a_done', 2]]);

    await expect(broker.deliver(0)).resolves.toBe('acked');
    expect(received.map((delivery) => delivery.attempt)).toEqual([1, 2]);
    expect(broker.queue).toEqual([]);
  });

  it('queues a retried delivery again with the next attempt', async () => {
    const broker = createScriptedBroker();
    await member(broker, 'billing', ['a_done'], (delivery) => delivery.retry(0));
    await broker.publish([message('a_done')]);

    await expect(broker.deliver(0)).resolves.toBe('retried');
    await expect(broker.deliver(0)).resolves.toBe('retried');

    expect(queued(broker)).toEqual([['billing', 'a_done', 3]]);
  });

  it('records a rejected delivery and does not queue it again', async () => {
    const broker = createScriptedBroker();
    await member(broker, 'billing', ['a_done'], (delivery) => delivery.reject());
    const sent = message('a_done');
    await broker.publish([sent]);

    await expect(broker.deliver(0)).resolves.toBe('rejected');

    expect(broker.rejected).toEqual([{ subscriber: 'billing', message: sent }]);
    expect(broker.queue).toEqual([]);
  });

  it('keeps the first settlement of a delivery and ignores later ones', async () => {
    const broker = createScriptedBroker();
    await member(broker, 'billing', ['a_done'], async (delivery) => {
      await delivery.ack();
      await delivery.reject();
      await delivery.retry(0);
    });
    await broker.publish([message('a_done')]);

    await expect(broker.deliver(0)).resolves.toBe('acked');

    expect(broker.rejected).toEqual([]);
    expect(broker.queue).toEqual([]);
  });

  it('retries the delivery of a handler that throws or rejects', async () => {
    const broker = createScriptedBroker();
    await member(broker, 'billing', ['a_done'], () => {
      throw new Error('handler failed');
    });
    await member(broker, 'shipping', ['a_done'], () => Promise.reject(new Error('handler failed')));
    await broker.publish([message('a_done')]);

    await expect(broker.deliver(0)).resolves.toBe('retried');
    await expect(broker.deliver(0)).resolves.toBe('retried');

    expect(queued(broker)).toEqual([
      ['billing', 'a_done', 2],
      ['shipping', 'a_done', 2],
    ]);
  });

  it('resolves to unsettled when the subscriber holds a delivery past the timeout, and queues it again', async () => {
    const broker = createScriptedBroker();
    const { received } = await member(broker, 'billing', ['a_done'], () => undefined);
    await broker.publish([message('a_done')]);

    await expect(broker.deliver(0, { timeoutMs: 50 })).resolves.toBe('unsettled');
    expect(queued(broker)).toEqual([['billing', 'a_done', 2]]);

    // The lease lapsed: a late settlement of the first delivery changes nothing.
    await received[0]?.reject();
    expect(broker.rejected).toEqual([]);
    expect(queued(broker)).toEqual([['billing', 'a_done', 2]]);
  });

  it('resolves to unsettled when the handler itself never returns', async () => {
    const broker = createScriptedBroker();
    await member(broker, 'billing', ['a_done'], () => new Promise<void>(() => undefined));
    await broker.publish([message('a_done')]);

    await expect(broker.deliver(0, { timeoutMs: 50 })).resolves.toBe('unsettled');
    expect(queued(broker)).toEqual([['billing', 'a_done', 2]]);
  });

  it('rejects a delivery of an index with nothing queued', async () => {
    const broker = createScriptedBroker();

    await expect(broker.deliver(0)).rejects.toThrow(RangeError);
  });

  it('queues a republished message under a new id for each subscriber without publishing it', async () => {
    const broker = createScriptedBroker();
    await member(broker, 'billing', ['a_done']);
    await member(broker, 'shipping', ['a_done']);
    const sent = message('a_done');
    await broker.publish([sent]);

    const copy = broker.republish(sent);

    expect(copy.id).not.toBe(sent.id);
    expect({ ...copy, id: sent.id }).toEqual(sent);
    expect(broker.published).toEqual([sent]);
    expect(broker.queue.map((entry) => [entry.subscriber, entry.message.id])).toEqual([
      ['billing', sent.id],
      ['shipping', sent.id],
      ['billing', copy.id],
      ['shipping', copy.id],
    ]);
  });

  it("counts a group's queued messages of the given types as pending", async () => {
    const broker = createScriptedBroker();
    await member(broker, 'billing', ['a_done', 'b_done']);
    await member(broker, 'shipping', ['a_done']);
    await broker.publish([message('a_done'), message('b_done'), message('b_done')]);

    await expect(broker.pending('billing', ['a_done', 'b_done'])).resolves.toBe(3);
    await expect(broker.pending('billing', ['a_done'])).resolves.toBe(1);
    await expect(broker.pending('shipping', ['a_done', 'b_done'])).resolves.toBe(1);

    await broker.deliver(0);
    await expect(broker.pending('billing', ['a_done', 'b_done'])).resolves.toBe(2);
  });

  it('forgets what was published, rejected and still queued on reset, but not the ids it stored', async () => {
    const broker = createScriptedBroker();
    await member(broker, 'billing', ['a_done'], (delivery) => delivery.reject());
    const stored = message('a_done');
    await broker.publish([stored, message('a_done')]);
    await broker.deliver(0);
    expect(broker.rejected).toHaveLength(1);

    broker.reset();

    expect(broker.published).toEqual([]);
    expect(broker.rejected).toEqual([]);
    expect(broker.queue).toEqual([]);
    // A stored id stays stored: publishing it again in the next scenario is still a repeat.
    await broker.publish([stored]);
    expect(broker.queue).toEqual([]);
  });

  it('gives each broadcast subscriber its own copy of each message', async () => {
    const broker = createScriptedBroker();
    const first = await member(broker, 'tracker', ['a_done'], undefined, 'broadcast');
    const second = await member(broker, 'tracker', ['a_done'], undefined, 'broadcast');
    await broker.publish([message('a_done')]);

    expect(queued(broker)).toEqual([
      ['tracker#1', 'a_done', 1],
      ['tracker#2', 'a_done', 1],
    ]);
    await broker.deliver(0);
    await broker.deliver(0);
    expect(first.received).toHaveLength(1);
    expect(second.received).toHaveLength(1);
  });

  it('stops queueing for a stopped subscription, and drops what was queued for it', async () => {
    const broker = createScriptedBroker();
    const { received, handle } = await member(broker, 'billing', ['a_done']);
    await broker.publish([message('a_done')]);

    await handle.stop();
    await broker.publish([message('a_done')]);

    expect(broker.subscribersOf('a_done')).toEqual([]);
    expect(queued(broker)).toEqual([['billing', 'a_done', 1]]);
    await expect(broker.deliver(0)).resolves.toBe('acked');
    expect(received).toEqual([]);
    expect(broker.queue).toEqual([]);
  });

  it('refuses to publish once closed', async () => {
    const broker = createScriptedBroker();
    await member(broker, 'billing', ['a_done']);

    await broker.close();

    await expect(broker.publish([message('a_done')])).rejects.toThrow('closed');
    expect(broker.subscribersOf('a_done')).toEqual([]);
  });
});
