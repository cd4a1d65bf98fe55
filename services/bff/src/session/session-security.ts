import { defaultRouteSecurity, type HttpApp } from '@cads/http';
import type { SessionUse } from './sessions.ts';

/**
 * Documents the session each route registered on `app` from now on uses (its `config.session`,
 * with the defaults `SessionUse` states) as its OpenAPI security: the session cookie, or none
 * for a route that never reads a session. So a route declares its session use once, and its
 * documentation follows what is enforced.
 */
export function documentSessionSecurity(app: HttpApp): void {
  defaultRouteSecurity(app, (route) => {
    const use: SessionUse =
      route.config?.session ?? (route.url.startsWith('/api/') ? 'guest' : 'none');
    return use === 'none' ? [] : [{ session: [] }];
  });
}
