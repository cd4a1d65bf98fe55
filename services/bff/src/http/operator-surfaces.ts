import { type HttpApp, requireBearerToken } from '@cads/http';

/** What every service serves for its operators, not for the browser. */
export const operatorPaths: readonly string[] = ['/metrics', '/openapi.json'];

/**
 * Closes the operator surfaces of the BFF's port, the one port users reach: `/metrics` and
 * `/openapi.json` answer only `Authorization: Bearer <operatorToken>` (401 otherwise). Health
 * and readiness stay open for the probes; they tell nothing but up or down.
 */
export function installOperatorSurfaces(app: HttpApp, operatorToken: string): void {
  const check = requireBearerToken(operatorToken, 'cads-admin');
  const closed = new Set(operatorPaths);
  app.addHook('onRequest', async (request) => {
    const path = request.url.split('?', 1)[0] ?? '';
    if (closed.has(path)) await check(request);
  });
}
