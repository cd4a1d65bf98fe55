import { setTimeout as sleep } from 'node:timers/promises';
import type { ServiceDefinition } from '@cads/service';
import { registerExternalsRoutes } from './http/routes.ts';

export interface ExternalsServiceOptions {
  /** `Authorization: Bearer <adminToken>` opens the config and inspection endpoints. Not empty. */
  readonly adminToken: string;
  /**
   * The deployment's internal secret: the call routes (`POST`/`DELETE /api/<system>`) need a
   * service token (audience `externals`) signed with it, from any service of the deployment.
   */
  readonly internalSecret: string;
  /** Clock of the records and the ledger; default the system clock. */
  readonly now?: () => Date;
  /** [0, 1), for the random part of answer delays; default `Math.random`. */
  readonly random?: () => number;
}

/**
 * The externals mock (the restaurants', riders' and bank's systems) as a service: routes only,
 * no consumer. Its config, idempotency records, reservations, assignments and ledger live in
 * its own database, so they survive a restart and are shared by every instance.
 */
export function externalsService(options: ExternalsServiceOptions): ServiceDefinition {
  const { adminToken, internalSecret } = options;
  const now = options.now ?? (() => new Date());
  const random = options.random ?? Math.random;
  return {
    name: 'externals',
    description:
      "Mock of the restaurants', riders' and bank's systems: configurable answers per scope, " +
      'idempotency keys, reservations, assignments and a ledger.',
    migrations: new URL('../migrations/', import.meta.url),
    routes: (app, { db }) =>
      registerExternalsRoutes(app, {
        db,
        adminToken,
        internalSecret,
        now,
        random,
        sleep: (ms) => sleep(ms),
      }),
  };
}
