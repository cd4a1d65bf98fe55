import { performance } from 'node:perf_hooks';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { natsUrl } from '@cads/testing';
import { type StepResult, summarise } from './step.ts';

/**
 * Raw JetStream limit: publish `count` messages with `inFlight` publish acks outstanding while
 * a pull consumer receives and acks them. Latency: publish call to receipt.
 */
export async function runRawJetStream({
  count,
  inFlight,
}: {
  count: number;
  inFlight: number;
}): Promise<StepResult> {
  const nc = await connect({ servers: natsUrl });
  const name = `RAW${Date.now().toString(36)}`.toUpperCase();
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name, subjects: [`${name}.>`] });
  await jsm.consumers.add(name, {
    durable_name: 'raw',
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
  });
  const js = jetstream(nc);
  const consumer = await js.consumers.get(name, 'raw');
  const latencies: number[] = [];
  const started = performance.now();
  let received = 0;
  const consuming = (async () => {
    const messages = await consumer.consume({ max_messages: 1_000 });
    for await (const message of messages) {
      latencies.push(performance.now() - Number(message.headers?.get('t') ?? performance.now()));
      message.ack();
      received += 1;
      if (received === count) break;
    }
  })();
  const { headers } = await import('@nats-io/transport-node');
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < count) {
        const n = next++;
        const h = headers();
        h.set('t', String(performance.now()));
        await js.publish(`${name}.step`, JSON.stringify({ n }), { msgID: `m${n}`, headers: h });
      }
    }),
  );
  await consuming;
  const seconds = (performance.now() - started) / 1000;
  await jsm.streams.delete(name);
  await nc.drain();
  return summarise(received, seconds, latencies);
}
