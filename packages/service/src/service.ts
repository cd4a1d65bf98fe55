import {
  checkWritable,
  type Consumer,
  type ConsumerOptions,
  createConsumer,
  createOutboxRelay,
  installConsumerTables,
  type Outbox,
  type OutboxRelay,
  tableOutbox,
} from '@cads/consumer';
import {
  createConsumerMetrics,
  createHttpApp,
  createMetricsRegistry,
  type HttpApp,
  registerConsumerStats,
} from '@cads/http';
import type { Broker } from '@cads/messaging';
import { type Database, loadMigrations, migrate } from '@cads/storage';
import type { Logger } from 'pino';

/** What a service may customise of its consumer; the rest comes from the runtime. */
export type ServiceConsumerOptions = Omit<
  ConsumerOptions,
  'name' | 'source' | 'db' | 'broker' | 'outbox' | 'relay' | 'log' | 'metrics'
>;

/** What routes get: the service's own database, and the outbox for the events they emit. */
export interface RouteContext {
  readonly db: Database;
  readonly outbox: Outbox;
  readonly log: Logger;
}

export interface ServiceDefinition {
  /** e.g. `billing`: consumer group, CloudEvents source `/cads/<name>`, log and metric label. */
  readonly name: string;
  readonly version?: string;
  /** Directory of the service's numbered SQL migrations. */
  readonly migrations?: URL;
  /**
   * Installs the toolkit tables the service uses besides the consumer's (e.g.
   * `installSagaStepTables`), before the service's own migrations, which may build on them.
   */
  readonly runtimeTables?: readonly ((db: Database) => Promise<void>)[];
  /** Event handlers, when the service consumes events. */
  readonly consumer?: ServiceConsumerOptions;
  /** Registers the service's HTTP routes (besides health, readiness, metrics, OpenAPI). */
  readonly routes?: (app: HttpApp, context: RouteContext) => void | Promise<void>;
  readonly description?: string;
  /**
   * Starts what the service runs besides its consumer and relay (e.g. a broadcast
   * subscription), after migrations and before the consumer; resolves to how to stop it, which
   * `stop` calls first.
   */
  readonly run?: (context: RunContext) => Promise<() => Promise<void>>;
}

/** What `run` gets: the service's own dependencies. */
export interface RunContext {
  readonly db: Database;
  readonly broker: Broker;
  readonly log: Logger;
  /** Where what it runs puts the events it emits (e.g. a deadline's event). */
  readonly outbox: Outbox;
}

export interface ServiceDependencies {
  /** The service's own database (its schema in embedded mode, its database in distributed mode). */
  readonly db: Database;
  readonly broker: Broker;
  readonly logger: Logger;
  /**
   * Where the service's transactions put their events. Default: the outbox table of `db`,
   * published by the service's own relay. The embedded mode passes an outbox that appends to
   * the event log in the same transaction (the log shares the database), and runs no relay.
   */
  readonly outbox?: Outbox;
}

export interface Service {
  readonly name: string;
  readonly app: HttpApp;
  readonly consumer: Consumer | undefined;
  /** The outbox table's relay; none when the dependencies brought their own outbox. */
  readonly relay: OutboxRelay | undefined;
  /** Applies migrations, then starts the relay and the consumer. Call before listening. */
  start(): Promise<void>;
  /**
   * Graceful stop: the consumer drains what it received, the relay finishes its publish, the
   * HTTP app lets in-flight requests finish. The database and broker stay open (the caller's).
   */
  stop(): Promise<void>;
}

/**
 * Builds one service from its definition and explicit dependencies: the shared runtime every
 * service uses, so services contain only their contracts, decisions, handlers, routes and SQL.
 */
export async function createService(
  definition: ServiceDefinition,
  dependencies: ServiceDependencies,
): Promise<Service> {
  const { name } = definition;
  const { db, broker } = dependencies;
  const log = dependencies.logger.child({ service: name });
  const registry = createMetricsRegistry({ service: name });
  const metrics = createConsumerMetrics(registry);
  const app = await createHttpApp({
    service: name,
    version: definition.version ?? '0.1.0',
    logger: log,
    metrics: registry,
    // Ready means able to do the service's work, which writes: a database that still answers
    // reads but cannot commit (disk full, read-only) is not ready.
    readiness: { database: () => checkWritable(db) },
    openapi: {
      title: `CADS ${name}`,
      ...(definition.description ? { description: definition.description } : {}),
    },
  });
  const relay = dependencies.outbox
    ? undefined
    : createOutboxRelay({ db, broker, source: name, log, metrics });
  const outbox = dependencies.outbox ?? tableOutbox(relay);
  const consumer = definition.consumer
    ? createConsumer({
        ...definition.consumer,
        name,
        source: `/cads/${name}`,
        db,
        broker,
        outbox,
        log,
        metrics,
      })
    : undefined;
  registerConsumerStats(registry, async () => (consumer ? [await consumer.stats()] : []), { log });
  await definition.routes?.(app, { db, outbox, log });

  let started = false;
  let stopRun: (() => Promise<void>) | undefined;
  return {
    name,
    app,
    consumer,
    relay,
    async start() {
      if (started) return;
      await installConsumerTables(db);
      for (const install of definition.runtimeTables ?? []) await install(db);
      if (definition.migrations) {
        await migrate(db, name, await loadMigrations(definition.migrations));
      }
      await relay?.start();
      if (!relay) {
        // Rows an earlier version left in the outbox table are still owed to the broker.
        await createOutboxRelay({ db, broker, source: name, log, metrics }).flush();
      }
      stopRun = await definition.run?.({ db, broker, log, outbox });
      await consumer?.start();
      started = true;
    },
    async stop() {
      await stopRun?.();
      stopRun = undefined;
      await consumer?.stop();
      await relay?.stop();
      await app.close();
      started = false;
    },
  };
}
