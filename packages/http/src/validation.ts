import AjvCompiler from '@fastify/ajv-compiler';
import type { FastifySchemaValidationError } from 'fastify';
import type { FieldError } from './problem.ts';

type BuildCompilerFromPool = AjvCompiler.BuildCompilerFromPool;

/**
 * Fastify's validator factory with two Ajv configurations instead of one.
 *
 * Fastify's defaults strip properties a schema forbids (`removeAdditional`) and coerce body
 * values (`null` becomes `""`, `"5"` becomes `5`), so bad input would be silently accepted.
 * Here a property the schema forbids is an error, every error is reported (the body limit
 * bounds the cost of `allErrors`), and only the string-typed parts (querystring, params,
 * headers) are coerced. Defaults declared in schemas are still applied.
 */
export function createValidatorFactory(): BuildCompilerFromPool {
  const pool = AjvCompiler();
  return (externalSchemas, options) => {
    const shared = {
      ...options?.customOptions,
      removeAdditional: false,
      useDefaults: true,
      allErrors: true,
    } as const;
    const plugins = options?.plugins ?? [];
    const forBody = pool(externalSchemas, {
      plugins,
      customOptions: { ...shared, coerceTypes: false },
    });
    const forStrings = pool(externalSchemas, {
      plugins,
      customOptions: { ...shared, coerceTypes: 'array' },
    });
    // Fastify passes the route definition ({ schema, httpPart, ... }), not a bare schema.
    return (route, meta) =>
      typeof route === 'object' && route.httpPart === 'body'
        ? forBody(route, meta)
        : forStrings(route, meta);
  };
}

const escapePointer = (name: string): string => name.replaceAll('~', '~0').replaceAll('/', '~1');

/**
 * One entry per invalid field, named `<part>/<json pointer>` (`body/items/0/amount`) so a
 * client can tell which input to fix.
 */
export function toFieldErrors(
  part: string,
  errors: readonly FastifySchemaValidationError[],
): FieldError[] {
  return errors.map((error) => {
    const path = `${part}${error.instancePath}`;
    const { missingProperty, additionalProperty } = error.params;
    if (error.keyword === 'required' && typeof missingProperty === 'string') {
      return { field: `${path}/${escapePointer(missingProperty)}`, reason: 'is required' };
    }
    if (error.keyword === 'additionalProperties' && typeof additionalProperty === 'string') {
      return { field: `${path}/${escapePointer(additionalProperty)}`, reason: 'is not allowed' };
    }
    return { field: path, reason: error.message ?? `fails ${error.keyword}` };
  });
}

const maxListedInDetail = 10;

/** A one-line summary of field errors, e.g. `body/items/0/amount must be <= 50`. */
export function describeFieldErrors(errors: readonly FieldError[]): string {
  const listed = errors.slice(0, maxListedInDetail).map((e) => `${e.field} ${e.reason}`);
  const more = errors.length - listed.length;
  return more > 0 ? `${listed.join('; ')}; and ${more} more` : listed.join('; ');
}
