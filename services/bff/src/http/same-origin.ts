import { type HttpApp, httpProblem } from '@cads/http';

const safeMethods = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface SameOriginOptions {
  /**
   * Origins other than the BFF's own that may send state-changing requests and open live
   * WebSockets (e.g. `https://shop.example` behind a proxy that rewrites `Host`). Default none.
   */
  readonly allowedOrigins?: readonly string[];
}

/** Whether `origin` (an `Origin` header) names the site `host` (a `Host` header) serves. */
export function isSameOrigin(origin: string, host: string | undefined): boolean {
  if (host === undefined) return false;
  try {
    const url = new URL(origin);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.host === host;
  } catch {
    // `null` (a sandboxed frame, a file) and anything unparsable.
    return false;
  }
}

/**
 * Refuses, with 403, what a foreign page can make a browser send with the user's cookie: a
 * state-changing request (cross-site request forgery) or a WebSocket handshake (cross-site
 * WebSocket hijacking, which would stream the user's order to that page). A browser names the
 * page's origin in `Origin` on both, and `Sec-Fetch-Site` says `cross-site` even where `Origin`
 * is absent; a request with neither does not come from a foreign page in a browser (curl, a
 * service), and the session cookie (SameSite=Lax) remains its only credential.
 */
export function installSameOriginCheck(app: HttpApp, options: SameOriginOptions = {}): void {
  const allowed = new Set(options.allowedOrigins ?? []);
  app.addHook('onRequest', (request, _reply, done) => {
    const upgrade = request.headers.upgrade?.toLowerCase() === 'websocket';
    if (safeMethods.has(request.method) && !upgrade) {
      done();
      return;
    }
    const origin = request.headers.origin;
    const site = request.headers['sec-fetch-site'];
    const foreign =
      origin !== undefined
        ? !allowed.has(origin) && !isSameOrigin(origin, request.headers.host)
        : site === 'cross-site';
    if (!foreign) {
      done();
      return;
    }
    done(
      httpProblem(
        'CADS_FORBIDDEN',
        `Refused: a ${upgrade ? 'live connection' : `${request.method} request`} from another site (${origin ?? 'cross-site'}).`,
      ),
    );
  });
}
