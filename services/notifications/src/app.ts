import { serviceTokenCheck } from '@cads/http';
import type { ServiceDefinition } from '@cads/service';
import { registerNotificationRoutes } from './http/notification-routes.ts';

export interface NotificationsServiceOptions {
  /** The deployment's internal secret: verifies the service tokens of its callers. */
  readonly internalSecret: string;
  /** Picks each notification's channel; in [0, 1) like the default `Math.random`. */
  readonly random?: () => number;
  /** Stamps `createdAt`; default the wall clock. */
  readonly now?: () => Date;
}

/**
 * The notifications mock (the e-mail / SMS / push provider): stores one notification per final
 * saga event and lists them per order and per user. HTTP only, no consumer; build it with
 * `createService(notificationsService({ internalSecret }), deps)`.
 *
 * Every route needs a service token (audience `notifications`). A token acting for a user
 * (`sub`) reads only that user's notifications; one without a user acts for the system.
 */
export function notificationsService(options: NotificationsServiceOptions): ServiceDefinition {
  const random = options.random ?? Math.random;
  const now = options.now ?? (() => new Date());
  const callers = serviceTokenCheck({ secret: options.internalSecret, audience: 'notifications' });
  return {
    name: 'notifications',
    description: 'Mock of the e-mail/SMS/push provider: one notification per final saga event.',
    migrations: new URL('../migrations/', import.meta.url),
    routes: (app, { db }) => registerNotificationRoutes(app, { db, random, now, callers }),
  };
}
