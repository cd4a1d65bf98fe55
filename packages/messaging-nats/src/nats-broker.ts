import type {
  Broker,
  DeliveryHandler,
  Message,
  Subscription,
  SubscriptionHandle,
} from '@cads/messaging';
import {
  AckPolicy,
  type ConsumerConfig,
  DeliverPolicy,
  JetStreamApiCodes,
  type JetStreamClient,
  type JetStreamManager,
  jetstreamManager,
  ReplayPolicy,
} from '@nats-io/jetstream';
import { connect, type NatsConnection, type NodeConnectionOptions } from '@nats-io/transport-node';
import { type Logger, silentLogger } from '@cads/messaging';
import { describeError } from './describe-error.ts';
import {
  assertName,
  assertSubjectTokens,
  consumerNameFor,
  defaultInstanceId,
  subjectFor,
} from './names.ts';
import {
  consumerInfo,
  countStored,
  deleteConsumer,
  ensureConsumer,
  ensureStream,
  isApiError,
  nanos,
} from './provision.ts';
import { type PullLane, PullSubscription } from './pull-subscription.ts';

export interface NatsBrokerOptions {
  /** `nats://host:4222`, or several servers of a cluster. */
  readonly servers: string | readonly string[];
  /** The stream holding every event. Default `CADS`. */
  readonly stream?: string;
  /** Events of type `t` are stored under `<subjectPrefix>.t`. Default `cads`. */
  readonly subjectPrefix?: string;
  /** Names this process's broadcast consumers. Default `<host>-<pid>-<random>`. */
  readonly instanceId?: string;
  /** Window in which a republished message id is stored once. Default 120 000 (2 min). */
  readonly duplicateWindowMs?: number;
  /** Discard events older than this. Default: keep them (limits retention, no age). */
  readonly maxAgeMs?: number;
  /** Stream replicas, applied when the stream is created. Default 1. */
  readonly replicas?: number;
  /** Server-side bound on unacked messages per group and type, over all members. Default 10 000. */
  readonly maxAckPending?: number;
  /** Publishes awaiting their ack at once within one `publish` call. Default 256. */
  readonly publishInFlight?: number;
  /** Per-message wait for the stream's ack. Default 5 000. */
  readonly publishTimeoutMs?: number;
  /** A broadcast consumer with no pull request this long is deleted by the server. Default 60 000. */
  readonly broadcastInactiveMs?: number;
  /** Further connection options (credentials, TLS, inbox prefix...). */
  readonly connection?: Omit<NodeConnectionOptions, 'servers'>;
  readonly log?: Logger;
}

/** A `Broker` on NATS JetStream, plus what operators and tests need to find its resources. */
export interface NatsBroker extends Broker {
  readonly stream: string;
  readonly subjectPrefix: string;
  readonly instanceId: string;
  /**
   * Deletes the stream with every stored event and every group's progress. For tests and
   * operators only; a stream that is already gone counts as deleted.
   */
  deleteStream(): Promise<void>;
}

/**
 * Connects to NATS and provisions the stream (idempotent; processes may start together), then
 * returns a `Broker` on it. Events of type `t` go to subject `<subjectPrefix>.t`.
 *
 * Guarantees, on top of the port's:
 * - **Publish** stores each message with `Nats-Msg-Id` = `message.id`: within
 *   `duplicateWindowMs` a republished id is stored once, also when another process republishes it.
 *   Messages are sent in array order on one connection, so they are stored in array order unless
 *   one fails; then the call rejects and the caller retries them all with the same ids.
 * - **Competing** groups are durable pull consumers, one per (group, type) since NATS 2.9 cannot
 *   filter one consumer on several subjects; a new group starts at the oldest stored message.
 *   Messages of one type reach the handler in stream order; there is no ordering across types.
 *   Per-key order across members is not the broker's job: the consumer runtime's key lanes
 *   serialise a key within one process only (the Postgres log adapter keeps keys in order across members).
 * - **Broadcast** subscribers get ephemeral consumers named with `instanceId`, deleted on
 *   `stop()`, and deleted by the server `broadcastInactiveMs` after the process died.
 * - A delivery's ack is not confirmed by the server: lost with a crash or a connection loss, it
 *   means a redelivery after the ack wait, never a lost message. An acked message survives a
 *   server process crash; an OS crash needs a server that syncs to disk, or replicas.
 * - `close()` NAKs the deliveries still unsettled, so they are redelivered (before newer
 *   messages) at once instead of after the ack wait, then drains the connection so buffered acks
 *   reach the server. Settling after that does nothing.
 * - The connection reconnects forever; pulling resumes on its own after any error, with backoff.
 * - `pending` adds up, over the group's consumer of each type, the messages not yet delivered
 *   (`num_pending`) and those delivered but not acked or terminated (`num_ack_pending`, which
 *   includes NAKed ones waiting for their redelivery); a type whose consumer does not exist yet
 *   counts the messages stored on its subject. One consumer info request per type.
 */
export async function createNatsBroker(options: NatsBrokerOptions): Promise<NatsBroker> {
  const stream = options.stream ?? 'CADS';
  const subjectPrefix = options.subjectPrefix ?? 'cads';
  const instanceId = options.instanceId ?? defaultInstanceId();
  assertName('stream', stream);
  assertSubjectTokens('subject prefix', subjectPrefix);
  assertName('instance id', instanceId);
  const log = options.log ?? silentLogger;
  const nc = await connect({
    name: `cads-${instanceId}`,
    maxReconnectAttempts: -1,
    // Stack traces captured for every request cost more CPU than the request itself.
    noAsyncTraces: true,
    ...options.connection,
    servers: typeof options.servers === 'string' ? options.servers : [...options.servers],
  });
  try {
    const jsm = await jetstreamManager(nc);
    await ensureStream(
      jsm,
      {
        stream,
        subjectPrefix,
        duplicateWindowMs: options.duplicateWindowMs ?? 120_000,
        replicas: options.replicas ?? 1,
        maxAgeMs: options.maxAgeMs,
      },
      log,
    );
    return new NatsJetStreamBroker(nc, jsm, options, { stream, subjectPrefix, instanceId, log });
  } catch (error) {
    await nc.close();
    throw error;
  }
}

interface Resolved {
  readonly stream: string;
  readonly subjectPrefix: string;
  readonly instanceId: string;
  readonly log: Logger;
}

class NatsJetStreamBroker implements NatsBroker {
  readonly stream: string;
  readonly subjectPrefix: string;
  readonly instanceId: string;
  readonly #nc: NatsConnection;
  readonly #jsm: JetStreamManager;
  readonly #js: JetStreamClient;
  readonly #options: NatsBrokerOptions;
  readonly #log: Logger;
  readonly #subscriptions = new Set<PullSubscription>();
  #subscribed = 0;
  #closing: Promise<void> | undefined;

  constructor(nc: NatsConnection, jsm: JetStreamManager, options: NatsBrokerOptions, r: Resolved) {
    this.#nc = nc;
    this.#jsm = jsm;
    this.#js = jsm.jetstream();
    this.#options = options;
    this.stream = r.stream;
    this.subjectPrefix = r.subjectPrefix;
    this.instanceId = r.instanceId;
    this.#log = r.log;
    void this.#watchConnection();
  }

  async publish(messages: readonly Message[]): Promise<void> {
    if (this.#closing) throw new Error('the NATS broker is closed');
    // Every subject is checked before anything is sent, so a bad type publishes nothing.
    const subjects = messages.map((message) => subjectFor(this.subjectPrefix, message.type));
    const timeout = this.#options.publishTimeoutMs ?? 5_000;
    const publishOne = (index: number) =>
      this.#js.publish(subjects[index]!, JSON.stringify(messages[index]), {
        msgID: messages[index]!.id,
        expect: { streamName: this.stream },
        timeout,
      });
    await publishWindowed(messages.length, publishOne, this.#options.publishInFlight ?? 256);
  }

  async subscribe(
    subscription: Subscription,
    handler: DeliveryHandler,
  ): Promise<SubscriptionHandle> {
    if (this.#closing) throw new Error('the NATS broker is closed');
    const { group, mode } = subscription;
    assertName('group', group);
    const types = [...new Set(subscription.types)];
    if (types.length === 0) throw new TypeError(`subscription '${group}' lists no types`);
    const maxInFlight = subscription.maxInFlight ?? 64;
    const ackTimeoutMs = subscription.ackTimeoutMs ?? 30_000;
    if (!Number.isInteger(maxInFlight) || maxInFlight < 1) {
      throw new TypeError(`maxInFlight must be a positive integer, got ${maxInFlight}`);
    }
    if (!(ackTimeoutMs >= 1)) throw new TypeError(`ackTimeoutMs must be ≥ 1, got ${ackTimeoutMs}`);
    this.#subscribed++;
    const instance =
      this.#subscribed === 1 ? this.instanceId : `${this.instanceId}-${this.#subscribed}`;
    const lanes: PullLane[] = types.map((type) => ({
      type,
      consumer: consumerNameFor(group, type, mode === 'broadcast' ? instance : undefined),
    }));
    const configOf = (lane: PullLane) =>
      this.#consumerConfig(lane, subscription.mode, ackTimeoutMs, maxInFlight);
    const provision = (lane: PullLane) =>
      ensureConsumer(this.#jsm, this.stream, configOf(lane), this.#log);
    const removeConsumers = async () => {
      if (mode !== 'broadcast') return;
      const results = await Promise.allSettled(
        lanes.map((lane) => deleteConsumer(this.#jsm, this.stream, lane.consumer)),
      );
      for (const result of results) {
        if (result.status === 'rejected') {
          this.#log.warn(
            { group, ...describeError(result.reason) },
            'could not delete a broadcast consumer; the server expires it',
          );
        }
      }
    };

    const provisioned = await Promise.allSettled(lanes.map(provision));
    const failure = provisioned.find((result) => result.status === 'rejected');
    if (failure) {
      await removeConsumers();
      throw new Error(`could not provision the JetStream consumers of '${group}'`, {
        cause: failure.reason,
      });
    }
    const pull = new PullSubscription({
      nc: this.#nc,
      inboxPrefix: this.#options.connection?.inboxPrefix,
      apiPrefix: this.#jsm.getOptions().apiPrefix ?? '$JS.API',
      stream: this.stream,
      group,
      lanes,
      maxInFlight,
      ackTimeoutMs,
      handler,
      heal: provision,
      onStopped: removeConsumers,
      log: this.#log,
    });
    this.#subscriptions.add(pull);
    return { stop: () => pull.stop() };
  }

  async pending(group: string, types: readonly string[]): Promise<number> {
    if (this.#closing) throw new Error('the NATS broker is closed');
    assertName('group', group);
    const counts = await Promise.all(
      [...new Set(types)].map(async (type) => {
        const subject = subjectFor(this.subjectPrefix, type);
        const info = await consumerInfo(this.#jsm, this.stream, consumerNameFor(group, type));
        // Without its consumer, the group would start this type at the oldest stored message.
        if (info === undefined) return countStored(this.#jsm, this.stream, subject);
        return info.num_pending + info.num_ack_pending;
      }),
    );
    return counts.reduce((sum, count) => sum + count, 0);
  }

  async deleteStream(): Promise<void> {
    try {
      await this.#jsm.streams.delete(this.stream);
    } catch (error) {
      if (!isApiError(error, JetStreamApiCodes.StreamNotFound)) throw error;
    }
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    // Stopped subscriptions stay listed: their unsettled deliveries are NAKed here too.
    await Promise.allSettled([...this.#subscriptions].map((pull) => pull.stop()));
    for (const pull of this.#subscriptions) pull.abandon();
    // Draining sends the acks still buffered; a connection that cannot drain is closed anyway.
    const drained = this.#nc.drain().then(
      () => true,
      () => false,
    );
    const timeout = new Promise<false>((resolve) =>
      setTimeout(() => resolve(false), 5_000).unref(),
    );
    if (!(await Promise.race([drained, timeout]))) await this.#nc.close().catch(() => undefined);
  }

  #consumerConfig(
    lane: PullLane,
    mode: Subscription['mode'],
    ackTimeoutMs: number,
    maxInFlight: number,
  ): ConsumerConfig {
    const common = {
      description: `cads ${mode} ${lane.consumer}`,
      ack_policy: AckPolicy.Explicit,
      ack_wait: nanos(ackTimeoutMs),
      // Unlimited: the consumer runtime counts attempts and dead-letters.
      max_deliver: -1,
      replay_policy: ReplayPolicy.Instant,
      filter_subject: subjectFor(this.subjectPrefix, lane.type),
    };
    if (mode === 'competing') {
      return {
        ...common,
        durable_name: lane.consumer,
        deliver_policy: DeliverPolicy.All,
        max_ack_pending: this.#options.maxAckPending ?? 10_000,
      };
    }
    // Ephemeral and in memory: a broadcast subscriber's position is worthless once it is gone.
    // The server deletes it once no pull request was open for the threshold (2.9.10 honours
    // this for pull consumers). This subscription keeps one open except while all its slots are
    // busy, which lasts at most until the ack wait frees them.
    const inactiveMs = Math.max(this.#options.broadcastInactiveMs ?? 60_000, ackTimeoutMs + 5_000);
    return {
      ...common,
      name: lane.consumer,
      deliver_policy: DeliverPolicy.New,
      max_ack_pending: Math.max(1_000, maxInFlight * 2),
      inactive_threshold: nanos(inactiveMs),
      mem_storage: true,
    };
  }

  async #watchConnection(): Promise<void> {
    try {
      for await (const status of this.#nc.status()) {
        if (status.type === 'disconnect') {
          this.#log.warn({ server: status.server }, 'NATS connection lost; reconnecting');
        } else if (status.type === 'reconnect') {
          this.#log.info({ server: status.server }, 'NATS connection re-established');
          for (const pull of this.#subscriptions) pull.reconnected();
        }
      }
    } catch (error) {
      this.#log.error(describeError(error), 'NATS status monitor failed');
    }
  }
}

/**
 * Publishes `count` messages with at most `window` acks outstanding. Sends start in index order
 * (each publish is written to the connection synchronously), so the stream stores them in order.
 * After a failure no further message is sent, to keep later ones from overtaking it; the call
 * rejects once the ones already sent are settled.
 */
async function publishWindowed(
  count: number,
  publishOne: (index: number) => Promise<unknown>,
  window: number,
): Promise<void> {
  let next = 0;
  let failed = 0;
  let firstError: unknown;
  const worker = async () => {
    while (next < count && failed === 0) {
      const index = next++;
      try {
        await publishOne(index);
      } catch (error) {
        if (failed++ === 0) firstError = error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(window, count) }, worker));
  if (failed > 0) {
    throw new Error(
      `${failed} of ${count} messages were not confirmed stored; publish them again`,
      {
        cause: firstError,
      },
    );
  }
}
