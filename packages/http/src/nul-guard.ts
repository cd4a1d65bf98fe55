import type { HttpApp } from './http-app.ts';
import { httpProblem } from './problem.ts';

/**
 * C0 control characters and DEL. Tab, line feed and carriage return are text (a message may
 * hold them) in a body; in a URL nothing here takes any control character.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const controlInUrl = /[\u0000-\u001f\u007f]|%(?:[01][0-9a-f]|7f)/i;
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const controlInText = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const controlInKey = /[\u0000-\u001f\u007f]/;

/** What the first control character of `text` is, for the answer: `NUL` or `U+001B`. */
function nameOf(text: string, pattern: RegExp): string {
  const found = pattern.exec(text)?.[0] ?? '';
  const code = found.codePointAt(0) ?? 0;
  return code === 0 ? 'NUL' : `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * The path (`body/a/0/b`) of the first string or key in `value` that holds a control
 * character a body may not hold, and which one; `undefined` when there is none.
 */
export function controlCharacterPath(
  value: unknown,
  path: string,
  depth = 0,
): { readonly field: string; readonly character: string } | undefined {
  if (typeof value === 'string') {
    return controlInText.test(value)
      ? { field: path, character: nameOf(value, controlInText) }
      : undefined;
  }
  // Deeper than any body a route accepts (their schemas refuse it anyway): not walked further.
  if (typeof value !== 'object' || value === null || depth > 64) return undefined;
  for (const [key, item] of Object.entries(value)) {
    if (controlInKey.test(key)) return { field: path, character: nameOf(key, controlInKey) };
    const found = controlCharacterPath(item, `${path}/${key}`, depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * Refuses control characters with a 400 naming where, before any route runs: any in the URL
 * (raw or escaped, `%00`–`%1F`, `%7F`), and in JSON bodies any but tab, line feed and carriage
 * return, in a string or a key. PostgreSQL's text cannot hold a NUL (let through, it would
 * fail deep inside a statement and be answered as an internal error), and the others have no
 * business in an id, a name or a query, where they only serve to forge log lines or confuse
 * whoever reads the data next.
 */
export function installNulGuard(app: HttpApp): void {
  app.addHook('onRequest', (request, _reply, done) => {
    const url = request.raw.url ?? '';
    if (!controlInUrl.test(url)) {
      done();
      return;
    }
    done(
      httpProblem(
        'CADS_BAD_REQUEST',
        url.includes('\u0000') || /%00/.test(url)
          ? 'The URL holds a NUL character (%00), which no path or parameter here accepts.'
          : 'The URL holds a control character (%01–%1F or %7F), which no path or parameter here accepts.',
      ),
    );
  });
  app.addHook('preValidation', (request, _reply, done) => {
    const found = controlCharacterPath(request.body, 'body');
    if (found === undefined) {
      done();
      return;
    }
    const what =
      found.character === 'NUL' ? 'a NUL character' : `the control character ${found.character}`;
    done(
      httpProblem('CADS_VALIDATION', `${found.field} must not hold ${what}.`, {
        errors: [
          {
            field: found.field,
            reason:
              found.character === 'NUL'
                ? 'must not hold a NUL character (U+0000)'
                : `must not hold a control character (${found.character})`,
          },
        ],
      }),
    );
  });
}
