import fastifyHelmet from '@fastify/helmet';
import type { HttpApp } from '@cads/http';

/**
 * The page's Content-Security-Policy: everything from the BFF itself. `data:` for the icons,
 * which the web app's icon library inlines as data URIs and fetches; inline styles for the
 * component library's style attributes. No inline or foreign script, no plugin, no frame: the
 * order page can be framed by nobody (clickjacking).
 */
export const contentSecurityPolicy = {
  'default-src': ["'self'"],
  'script-src': ["'self'"],
  'style-src': ["'self'", "'unsafe-inline'"],
  'img-src': ["'self'", 'data:'],
  'font-src': ["'self'", 'data:'],
  'connect-src': ["'self'", 'data:'],
  'object-src': ["'none'"],
  'base-uri': ["'self'"],
  'form-action': ["'self'"],
  'frame-ancestors': ["'none'"],
};

/**
 * The browser protections of every BFF response: CSP (above), `X-Content-Type-Options:
 * nosniff`, `X-Frame-Options: DENY`, `Referrer-Policy: no-referrer` (an order id in a URL
 * never leaves for another site), `Cross-Origin-Opener-Policy` and `-Resource-Policy` of the
 * same origin. HSTS only with `secure` (served over HTTPS), where it belongs.
 */
export async function installBrowserHeaders(app: HttpApp, secure: boolean): Promise<void> {
  await app.register(fastifyHelmet, {
    contentSecurityPolicy: { useDefaults: false, directives: contentSecurityPolicy },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    crossOriginResourcePolicy: { policy: 'same-origin' },
    crossOriginOpenerPolicy: { policy: 'same-origin' },
    // Would stop the page from loading anything cross-origin without CORP; it loads nothing.
    crossOriginEmbedderPolicy: false,
    strictTransportSecurity: secure ? { maxAge: 15_552_000 } : false,
  });
}
