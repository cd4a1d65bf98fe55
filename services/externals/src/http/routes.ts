import {
  defaultRouteSecurity,
  type HttpApp,
  requireBearerToken,
  serviceTokenCheck,
} from '@cads/http';
import type { Database } from '@cads/storage';
import { registerCallRoutes } from './call-routes.ts';
import { registerConfigRoutes } from './config-routes.ts';
import { addReasonToProblems } from './failure-reason.ts';
import { registerInspectionRoutes } from './inspection-routes.ts';
import { registerMenuRoute } from './menu-route.ts';

export interface ExternalsRoutesOptions {
  readonly db: Database;
  readonly adminToken: string;
  readonly internalSecret: string;
  readonly now: () => Date;
  readonly random: () => number;
  readonly sleep: (ms: number) => Promise<void>;
}

/**
 * Registers every externals route in its own encapsulated scope, so the `{ reason }` hook
 * touches only these routes (not health, readiness or metrics), and the config and inspection
 * routes in a nested scope that checks the admin token before anything else; the call routes
 * in one that checks the caller's service token first.
 */
export async function registerExternalsRoutes(
  app: HttpApp,
  options: ExternalsRoutesOptions,
): Promise<void> {
  const adminOnly = requireBearerToken(options.adminToken, 'cads-admin');
  const callers = serviceTokenCheck({ secret: options.internalSecret, audience: 'externals' });
  await app.register(async (externals: HttpApp) => {
    externals.addHook('onSend', addReasonToProblems);
    await externals.register((calls: HttpApp) => {
      calls.addHook('onRequest', callers.onRequest);
      defaultRouteSecurity(calls, [{ serviceToken: [] }]);
      registerCallRoutes(calls, options);
      return Promise.resolve();
    });
    registerMenuRoute(externals);
    await externals.register((admin: HttpApp) => {
      admin.addHook('onRequest', adminOnly);
      defaultRouteSecurity(admin, [{ adminToken: [] }]);
      registerConfigRoutes(admin, { db: options.db, now: options.now });
      registerInspectionRoutes(admin, options.db);
      return Promise.resolve();
    });
  });
}
