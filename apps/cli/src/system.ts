import { fileURLToPath } from 'node:url';
import { bffService } from '@cads/bff';
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
  /** Credential of the admin surfaces (externals config, inspection). */
  readonly adminToken: string;
  /** Where the BFF reaches the order and notifications services. */
  readonly orderUrl: string;
  readonly notificationsUrl: string;
  /** Signs the BFF's session cookies; shared by every BFF instance. */
  readonly sessionSecret: string;
  /** The web app's live transport (`FRONT_CONNECTION_TYPE`). Default `sse`. */
  readonly transport?: LiveTransport;
  /** The built web app. Default `apps/web/dist`. */
  readonly webRoot?: string;
  /** How every consumer waits out outages (`OutagePolicy`). Default: the runtime's. */
  readonly outage?: Partial<OutagePolicy>;
  /** The steps' deadline for an unreachable external system. Default: the runtime's (5 min). */
  readonly unreachableTimeoutMs?: number;
}

/** Settings for building definitions only to read them (API documents): nothing is called. */
export const documentationSettings: ServiceSettings = {
  externalsUrl: 'http://127.0.0.1:3001',
  notificationsUrl: 'http://127.0.0.1:3002',
  orderUrl: 'http://127.0.0.1:3003',
  adminToken: 'docs',
  sessionSecret: 'documentation-only-secret-000000000',
};

/** The definition of one service, configured. The single place that knows every service. */
export function definitionOf(name: ServiceName, settings: ServiceSettings): ServiceDefinition {
  const step = {
    baseUrl: settings.externalsUrl,
    ...(settings.unreachableTimeoutMs === undefined
      ? {}
      : { unreachableTimeoutMs: settings.unreachableTimeoutMs }),
  };
  const definition = ((): ServiceDefinition => {
    switch (name) {
      case 'externals':
        return externalsService({ adminToken: settings.adminToken });
      case 'notifications':
        return notificationsService();
      case 'order':
        return orderService();
      case 'restaurant':
        return restaurantService(step);
      case 'rider':
        return riderService(step);
      case 'payment':
        return paymentService(step);
      case 'bff':
        return bffService({
          orderUrl: settings.orderUrl,
          notificationsUrl: settings.notificationsUrl,
          sessionSecret: settings.sessionSecret,
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
  readonly databaseFor: (service: ServiceName) => Promise<Database>;
  readonly broker: Broker;
  /** Where services put their events; default: each one's outbox table and relay. */
  readonly outbox?: Outbox;
  readonly logger: Logger;
  readonly adminToken: string;
  /** Signs the BFF's session cookies (≥ 32 characters). */
  readonly sessionSecret: string;
  readonly transport?: LiveTransport;
  readonly webRoot?: string;
  /** How the consumers wait out outages; default: the runtime's (see `ServiceSettings`). */
  readonly outage?: Partial<OutagePolicy>;
  readonly unreachableTimeoutMs?: number;
  /** Listen address. Default 127.0.0.1. */
  readonly host?: string;
  /** Ports: `basePort + portOffsets[name]`; 0 lets the system pick free ones. */
  readonly basePort?: number;
}

export interface RunningSystem {
  readonly urls: Readonly<Record<ServiceName, string>>;
  readonly services: Readonly<Record<ServiceName, Service>>;
  readonly databases: Readonly<Record<ServiceName, Database>>;
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
  const basePort = options.basePort ?? 0;
  const urls = {} as Record<ServiceName, string>;
  const services = {} as Record<ServiceName, Service>;
  const databases = {} as Record<ServiceName, Database>;
  const started: Service[] = [];
  const stop = async () => {
    for (const service of started.reverse()) await service.stop();
  };
  try {
    for (const name of serviceNames) {
      const db = await options.databaseFor(name);
      const definition = definitionOf(name, {
        externalsUrl: urls.externals ?? '',
        orderUrl: urls.order ?? '',
        notificationsUrl: urls.notifications ?? '',
        adminToken: options.adminToken,
        sessionSecret: options.sessionSecret,
        ...(options.transport ? { transport: options.transport } : {}),
        ...(options.webRoot ? { webRoot: options.webRoot } : {}),
        ...(options.outage ? { outage: options.outage } : {}),
        ...(options.unreachableTimeoutMs === undefined
          ? {}
          : { unreachableTimeoutMs: options.unreachableTimeoutMs }),
      });
      const service = await createService(definition, {
        db,
        broker: options.broker,
        logger: options.logger,
        ...(options.outbox ? { outbox: options.outbox } : {}),
      });
      await service.start();
      started.push(service);
      urls[name] = await service.app.listen({
        host,
        port: basePort === 0 ? 0 : basePort + portOffsets[name],
      });
      services[name] = service;
      databases[name] = db;
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { urls, services, databases, broker: options.broker, stop };
}
