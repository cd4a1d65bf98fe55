import { fileURLToPath } from 'node:url';
import { type BffLimits, bffService } from '@cads/bff';
import { serviceCredentials } from '@cads/http';
import type { LiveTransport } from '@cads/bff/contracts';
import { externalsService } from '@cads/externals';
import type { Broker } from '@cads/messaging';
import { notificationsService } from '@cads/notifications';
import { orderService } from '@cads/order';
import { paymentService } from '@cads/payment';
import { restaurantService } from '@cads/restaurant';
import { riderService } from '@cads/rider';
import type { OutagePolicy, Outbox } from '@cads/consumer';
import { createService, type Service, type ServiceDefinition } from '@cads/service';
import type { SagaMap } from '@cads/saga';
import type { Database } from '@cads/storage';
import type { Logger } from 'pino';

/** Every service, in start order: a service starts after those it calls. */
export const serviceNames = [
  'externals',
  'notifications',
  'order',
  'restaurant',
  'rider',
  'payment',
  'bff',
] as const;
export type ServiceName = (typeof serviceNames)[number];

/**
 * Each service's port is `basePort + offset`: the BFF, which serves the web app, takes the
 * first one (3000 by default), the others follow in start order.
 */
export const portOffsets: Readonly<Record<ServiceName, number>> = {
  bff: 0,
  externals: 1,
  notifications: 2,
  order: 3,
  restaurant: 4,
  rider: 5,
  payment: 6,
};

/** The built web app the BFF serves (`npm run build:web`). */
export const defaultWebRoot = fileURLToPath(new URL('../../web/dist/', import.meta.url));

export function isServiceName(name: string): name is ServiceName {
  return (serviceNames as readonly string[]).includes(name);
}

export interface ServiceSettings {
  /** Where restaurant, rider and payment reach the external systems. */
  readonly externalsUrl: string;
  /** Credential of the admin surfaces (externals config and inspection, the BFF's metrics and API document). */
  readonly adminToken: string;
  /** Where the BFF reaches the order and notifications services. */
  readonly orderUrl: string;
  readonly notificationsUrl: string;
  /** Signs the BFF's session cookies; shared by every BFF instance. */
  readonly sessionSecret: string;
  /**
   * Signs and verifies the service tokens of internal calls (BFF → order and notifications,
   * steps → externals); shared by every process of the deployment. ≥ 32 characters.
   */
  readonly internalSecret: string;
  /** The BFF's rate limits and connection caps (`CADS_LIMIT_*`); the others keep their default. */
  readonly bffLimits?: Partial<BffLimits>;
  /** `Secure` session cookies and HSTS (`CADS_SECURE_COOKIES=true`): served over HTTPS. */
  readonly secureCookies?: boolean;
  /** The web app's live transport (`FRONT_CONNECTION_TYPE`). Default `sse`. */
  readonly transport?: LiveTransport;
  /** The built web app. Default `apps/web/dist`. */
  readonly webRoot?: string;
  /** How every consumer waits out outages (`OutagePolicy`). Default: the runtime's. */
  readonly outage?: Partial<OutagePolicy>;
  /** The steps' deadline for an unreachable external system. Default: the runtime's (5 min). */
  readonly unreachableTimeoutMs?: number;
  /** The time an order has to end before it fails as timed out. Default: the saga's (10 min). */
  readonly sagaDeadlineMs?: number;
  /**
   * The saga the services run: the food saga by default, or one composed from it with more
   * steps (whose services come as `AddedService`s). Every service reads its part from it.
   */
  readonly saga?: SagaMap;
}

/**
 * A service this system does not know, started with it: the service of a step added to the
 * saga (its declaration and one entry in the map, see `ServiceSettings.saga`).
 */
export interface AddedService {
  /** Its name, which is also its step's name in the map when it runs a step. */
  readonly name: string;
  define(settings: ServiceSettings): ServiceDefinition;
}

/** Settings for building definitions only to read them (API documents): nothing is called. */
export const documentationSettings: ServiceSettings = {
  externalsUrl: 'http://127.0.0.1:3001',
  notificationsUrl: 'http://127.0.0.1:3002',
  orderUrl: 'http://127.0.0.1:3003',
  adminToken: 'docs',
  sessionSecret: 'documentation-only-secret-000000000',
  internalSecret: 'documentation-only-secret-000000000',
};

/** The definition of one service, configured. The single place that knows every service. */
export function definitionOf(name: ServiceName, settings: ServiceSettings): ServiceDefinition {
  const saga = settings.saga ? { saga: settings.saga } : {};
  const { internalSecret } = settings;
  const credentials = serviceCredentials({ secret: internalSecret, service: name });
  const step = {
    ...saga,
    baseUrl: settings.externalsUrl,
    authorization: () => credentials.authorization('externals'),
    ...(settings.unreachableTimeoutMs === undefined
      ? {}
      : { unreachableTimeoutMs: settings.unreachableTimeoutMs }),
  };
  const definition = ((): ServiceDefinition => {
    switch (name) {
      case 'externals':
        return externalsService({ adminToken: settings.adminToken, internalSecret });
      case 'notifications':
        return notificationsService({ internalSecret });
      case 'order':
        return orderService({
          ...saga,
          internalSecret,
          ...(settings.sagaDeadlineMs === undefined ? {} : { deadlineMs: settings.sagaDeadlineMs }),
        });
      case 'restaurant':
        return restaurantService(step);
      case 'rider':
        return riderService(step);
      case 'payment':
        return paymentService(step);
      case 'bff':
        return bffService({
          ...saga,
          orderUrl: settings.orderUrl,
          notificationsUrl: settings.notificationsUrl,
          sessionSecret: settings.sessionSecret,
          credentials,
          operatorToken: settings.adminToken,
          secureCookies: settings.secureCookies ?? false,
          ...(settings.bffLimits ? { limits: settings.bffLimits } : {}),
          transport: settings.transport ?? 'sse',
          webRoot: settings.webRoot ?? defaultWebRoot,
        }).definition;
    }
  })();
  if (!settings.outage || !definition.consumer) return definition;
  return { ...definition, consumer: { ...definition.consumer, outage: settings.outage } };
}

export interface SystemOptions {
  /** The database of each service (a schema of one PGlite, or a database per service). */
  readonly databaseFor: (service: string) => Promise<Database>;
  readonly broker: Broker;
  /** Where services put their events; default: each one's outbox table and relay. */
  readonly outbox?: Outbox;
  readonly logger: Logger;
  readonly adminToken: string;
  /** Signs the BFF's session cookies (≥ 32 characters). */
  readonly sessionSecret: string;
  /** Signs the internal calls' service tokens (≥ 32 characters; see `ServiceSettings`). */
  readonly internalSecret: string;
  readonly transport?: LiveTransport;
  readonly webRoot?: string;
  /** How the consumers wait out outages; default: the runtime's (see `ServiceSettings`). */
  readonly outage?: Partial<OutagePolicy>;
  readonly unreachableTimeoutMs?: number;
  readonly sagaDeadlineMs?: number;
  /** The saga the services run (see `ServiceSettings.saga`). Default: the food saga. */
  readonly saga?: SagaMap;
  /** Services started besides this system's own, before the BFF (e.g. an added step's). */
  readonly added?: readonly AddedService[];
  /**
   * Where the BFF, the system's one entry point, listens. Default 127.0.0.1. The other services
   * are internal (they answer only service tokens), and listen on `internalHost` whatever this is.
   */
  readonly host?: string;
  /** Where the internal services (all but the BFF) listen. Default 127.0.0.1 (loopback). */
  readonly internalHost?: string;
  /** Ports: `basePort + portOffsets[name]`; 0 lets the system pick free ones. */
  readonly basePort?: number;
}

/** One entry per service: this system's own, and any added ones by their names. */
export type PerService<T> = Readonly<Record<ServiceName, T>> & Readonly<Record<string, T>>;

export interface RunningSystem {
  readonly urls: PerService<string>;
  readonly services: PerService<Service>;
  readonly databases: PerService<Database>;
  readonly broker: Broker;
  /** Stops every service gracefully (consumers drain), last started first. */
  stop(): Promise<void>;
}

/**
 * Starts every service in this process on the given storage and broker: the composition root
 * of the embedded mode, and of the in-process system the integration suites drive. Externals
 * start first, so the services that call them know their address.
 */
export async function startSystem(options: SystemOptions): Promise<RunningSystem> {
  const host = options.host ?? '127.0.0.1';
  const internalHost = options.internalHost ?? '127.0.0.1';
  const basePort = options.basePort ?? 0;
  const urls = {} as Record<string, string>;
  const services = {} as Record<string, Service>;
  const databases = {} as Record<string, Database>;
  const added = options.added ?? [];
  // Added services start before the BFF (the entry point), after the system's own steps.
  const order = [
    ...serviceNames.filter((name) => name !== 'bff'),
    ...added.map(({ name }) => name),
    'bff' as const,
  ];
  const started: Service[] = [];
  const stop = async () => {
    for (const service of started.reverse()) await service.stop();
  };
  try {
    for (const [index, name] of order.entries()) {
      const db = await options.databaseFor(name);
      const settings: ServiceSettings = {
        externalsUrl: urls.externals ?? '',
        orderUrl: urls.order ?? '',
        notificationsUrl: urls.notifications ?? '',
        adminToken: options.adminToken,
        sessionSecret: options.sessionSecret,
        internalSecret: options.internalSecret,
        ...(options.transport ? { transport: options.transport } : {}),
        ...(options.webRoot ? { webRoot: options.webRoot } : {}),
        ...(options.outage ? { outage: options.outage } : {}),
        ...(options.unreachableTimeoutMs === undefined
          ? {}
          : { unreachableTimeoutMs: options.unreachableTimeoutMs }),
        ...(options.sagaDeadlineMs === undefined ? {} : { sagaDeadlineMs: options.sagaDeadlineMs }),
        ...(options.saga ? { saga: options.saga } : {}),
      };
      const extra = added.find((service) => service.name === name);
      const definition = extra
        ? extra.define(settings)
        : definitionOf(name as ServiceName, settings);
      const service = await createService(definition, {
        db,
        broker: options.broker,
        logger: options.logger,
        ...(options.outbox ? { outbox: options.outbox } : {}),
      });
      await service.start();
      started.push(service);
      urls[name] = await service.app.listen({
        host: name === 'bff' ? host : internalHost,
        port:
          basePort === 0
            ? 0
            : basePort + (isServiceName(name) ? portOffsets[name] : serviceNames.length + index),
      });
      services[name] = service;
      databases[name] = db;
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    urls: urls as PerService<string>,
    services: services as PerService<Service>,
    databases: databases as PerService<Database>,
    broker: options.broker,
    stop,
  };
}
