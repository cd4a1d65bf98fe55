import { describe, expect, it } from 'vitest';
import { decodeBody, deliveryCountOf, type DeliveryOwner, NatsDelivery } from './nats-delivery.ts';
import { consumerNameFor, subjectFor } from './names.ts';

const text = (payload: Uint8Array) => new TextDecoder().decode(payload);

describe('NatsDelivery', () => {
  const record = () => {
    const sent: string[] = [];
    const owner: DeliveryOwner = {
      settle: (_delivery, reply, payload) => void sent.push(`${reply} ${text(payload)}`),
      keepAlive: (_delivery, reply, payload) => void sent.push(`${reply} ${text(payload)}`),
    };
    return { sent, delivery: new NatsDelivery(owner, '$JS.ACK.s.c.1.1.1.0.0', {}, 1, 0) };
  };

  it('sends only the first settlement', async () => {
    const { sent, delivery } = record();
    await delivery.retry(1_500);
    await delivery.ack();
    await delivery.reject();
    expect(sent).toEqual(['$JS.ACK.s.c.1.1.1.0.0 -NAK {"delay":1500000000}']);
  });

  it('maps ack, reject, a retry without delay and abandon to the JetStream acks', async () => {
    const payloads = [];
    for (const settle of [
      (d: NatsDelivery) => d.ack(),
      (d: NatsDelivery) => d.reject(),
      (d: NatsDelivery) => d.retry(0),
      (d: NatsDelivery) => void d.abandon(),
    ]) {
      const { sent, delivery } = record();
      await settle(delivery);
      payloads.push(sent[0]?.split(' ')[1]);
    }
    expect(payloads).toEqual(['+ACK', '+TERM', '-NAK', '-NAK']);
  });

  it('rejects when the settlement cannot be sent', async () => {
    const owner: DeliveryOwner = {
      settle: () => {
        throw new Error('connection closed');
      },
      keepAlive: () => {
        throw new Error('connection closed');
      },
    };
    const delivery = new NatsDelivery(owner, 'r', {}, 1, 0);
    // A keep-alive that cannot be sent only lets the lease lapse.
    await expect(delivery.working()).resolves.toBeUndefined();
    await expect(delivery.ack()).rejects.toThrow('connection closed');
  });

  it('keeps an unsettled delivery alive with +WPI, and a settled one not at all', async () => {
    const { sent, delivery } = record();
    await delivery.working();
    await delivery.working();
    await delivery.ack();
    await delivery.working();
    expect(sent.map((line) => line.split(' ')[1])).toEqual(['+WPI', '+WPI', '+ACK']);
  });
});

describe('decoding', () => {
  it('decodes JSON and hands over anything else as a string', () => {
    const encode = (value: string) => new TextEncoder().encode(value);
    expect(decodeBody(encode('{"a":1}'))).toEqual({ a: 1 });
    expect(decodeBody(encode('not json {'))).toBe('not json {');
    expect(decodeBody(encode(''))).toBe('');
  });

  it('reads the delivery count from both ack subject formats', () => {
    expect(deliveryCountOf('$JS.ACK.CADS.g__t.3.10.12.1795363297297613135.0')).toBe(3);
    expect(deliveryCountOf('$JS.ACK.hub.ACC.CADS.g__t.2.10.12.1795363297297613135.0.xyz')).toBe(2);
    expect(deliveryCountOf('_INBOX.abc')).toBeUndefined();
  });
});

describe('names', () => {
  it('maps types to subjects and rejects types that are not subjects', () => {
    expect(subjectFor('cads', 'invoice_issued')).toBe('cads.invoice_issued');
    expect(subjectFor('cads', 'invoice.v2')).toBe('cads.invoice.v2');
    expect(() => subjectFor('cads', 'a..b')).toThrow(TypeError);
    expect(() => subjectFor('cads', 'a*')).toThrow(TypeError);
  });

  it('gives every (group, type, instance) its own consumer name', () => {
    expect(consumerNameFor('billing', 'invoice_issued')).toBe('billing__invoice_issued');
    expect(consumerNameFor('bff', 'invoice_issued', 'host-1-abc')).toBe(
      'bff__invoice_issued__host-1-abc',
    );
    expect(consumerNameFor('g', 'a.b')).not.toBe(consumerNameFor('g', 'a_b'));
    expect(consumerNameFor('g', 'a.b')).toMatch(/^[-\w]+$/);
    expect(consumerNameFor('g', 'x'.repeat(300)).length).toBeLessThanOrEqual(200);
  });
});
