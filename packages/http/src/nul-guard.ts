import type { HttpApp } from './http-app.ts';
import { httpProblem } from './problem.ts';

/** Whether a raw URL holds a NUL, escaped (`%00`) or not. */
const holdsNul = (url: string) => url.includes('\u0000') || url.includes('%00');

/** The path (`body/a/0/b`) of the first string or key in `value` that holds a NUL, if any. */
export function nulPath(value: unknown, path: string, depth = 0): string | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? path : undefined;
  // Deeper than any body a route accepts (their schemas refuse it anyway): not walked further.
  if (typeof value !== 'object' || value === null || depth > 64) return undefined;
  for (const [key, item] of Object.entries(value)) {
    if (key.includes('\u0000')) return path;
    const found = nulPath(item, `${path}/${key}`, depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * Refuses NUL characters (U+0000) in the URL and in JSON bodies with a 400 naming where, before
 * any route runs. PostgreSQL's text cannot hold them: let through, they fail deep inside a
 * statement and would be answered as an internal error.
 */
export function installNulGuard(app: HttpApp): void {
  app.addHook('onRequest', (request, _reply, done) => {
    if (!holdsNul(request.raw.url ?? '')) {
      done();
      return;
    }
    done(
      httpProblem(
        'CADS_BAD_REQUEST',
        'The URL holds a NUL character (%00), which no path or parameter here accepts.',
      ),
    );
  });
  app.addHook('preValidation', (request, _reply, done) => {
    const field = nulPath(request.body, 'body');
    if (field === undefined) {
      done();
      return;
    }
    done(
      httpProblem('CADS_VALIDATION', `${field} must not hold a NUL character.`, {
        errors: [{ field, reason: 'must not hold a NUL character (U+0000)' }],
      }),
    );
  });
}
