import { externalsService } from '@cads/externals';
import type { Broker } from '@cads/messaging';
import { notificationsService } from '@cads/notifications';
import { orderService } from '@cads/order';
import { paymentService } from '@cads/payment';
import { restaurantService } from '@cads/restaurant';
import { riderService } from '@cads/rider';
import { createService, type Service, type ServiceDefinition } from '@cads/service';
import type { Database } from '@cads/storage';
import type { Logger } from 'pino';

export const serviceNames = [
  'externals',
  'notifications',
  'order',
  'restaurant',
  'rider',
  'payment',
] as const;
export type ServiceName = (typeof serviceNames)[number];

export function isServiceName(name: string): name is ServiceName {
  return (serviceNames as readonly string[]).includes(name);
}

export interface ServiceSettings {
  /** Where restaurant, rider and payment reach the external systems. */
  readonly externalsUrl: string;
  /** Credential of the admin surfaces (externals config, inspection). */
  readonly adminToken: string;
}

/** The definition of one service, configured. The single place that knows every service. */
export function definitionOf(name: ServiceName, settings: ServiceSettings): ServiceDefinition {
  switch (name) {
    case 'externals':
      return externalsService({ adminToken: settings.adminToken });
    case 'notifications':
      return notificationsService();
    case 'order':
      return orderService();
    case 'restaurant':
      return restaurantService({ externalsUrl: settings.externalsUrl });
    case 'rider':
      return riderService({ externalsUrl: settings.externalsUrl });
    case 'payment':
      return paymentService({ externalsUrl: settings.externalsUrl });
  }
}

export interface SystemOptions {
  /** The database of each service (a schema of one PGlite, or a database per service). */
  readonly databaseFor: (service: ServiceName) => Promise<Database>;
  readonly broker: Broker;
  readonly logger: Logger;
  readonly adminToken: string;
  /** Listen address. Default 127.0.0.1. */
  readonly host?: string;
  /** Ports: `basePort + index` in `serviceNames` order; 0 lets the system pick free ones. */
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
    for (const [index, name] of serviceNames.entries()) {
      const db = await options.databaseFor(name);
      const definition = definitionOf(name, {
        externalsUrl: urls.externals ?? '',
        adminToken: options.adminToken,
      });
      const service = await createService(definition, {
        db,
        broker: options.broker,
        logger: options.logger,
      });
      await service.start();
      started.push(service);
      urls[name] = await service.app.listen({ host, port: basePort === 0 ? 0 : basePort + index });
      services[name] = service;
      databases[name] = db;
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { urls, services, databases, broker: options.broker, stop };
}
