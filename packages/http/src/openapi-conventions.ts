import type { HttpApp } from './http-app.ts';
import {
  isSchemeName,
  type SecurityScheme,
  type SecuritySchemeName,
  securitySchemes,
  unknownSchemes,
} from './security-schemes.ts';

const capitalized = (word: string): string => word.charAt(0).toUpperCase() + word.slice(1);

/**
 * The `operationId` of a route that sets none: the method, then the words of its path in
 * camelCase, a parameter as `By<Name>`, without the `/api` prefix every CADS API shares
 * (`GET /api/parcels/:id` → `getParcelsById`). Distinct routes give distinct ids unless their
 * paths differ only in punctuation or in that prefix.
 */
export function deriveOperationId(method: string, url: string): string {
  const words = url
    .replace(/^\/api(?=\/|$)/, '')
    .split('/')
    .flatMap((segment) => {
      if (segment === '*') return ['any'];
      // A parameter's regular expression (`:id(^\\d+)`) is no part of its name.
      const text = segment.replace(/\(.*\)/, '');
      const parts = text.split(/[^A-Za-z0-9]+/).filter((part) => part !== '');
      return text.startsWith(':') ? ['by', ...parts] : parts;
    })
    .map(capitalized);
  return `${method.toLowerCase()}${words.join('')}`;
}

/**
 * Checks, as each documented route is registered on `app` or any scope in it, what its OpenAPI
 * operation must satisfy, and throws (so the app is never built with an invalid document):
 * - its `operationId`, derived by `deriveOperationId` when the route sets none, is unique in
 *   the app (one id cannot serve several methods of one route);
 * - its `schema.security` names only schemes of `securitySchemes`.
 * HEAD routes are skipped: the document leaves them out.
 */
export function installOpenApiConventions(app: HttpApp): void {
  const owners = new Map<string, string>();
  app.addHook('onRoute', (route) => {
    const methods = [route.method].flat().filter((method) => method !== 'HEAD');
    const [method] = methods;
    if (method === undefined || route.schema?.hide === true) return;
    const where = `${methods.join(',')} ${route.url}`;
    const unknown = unknownSchemes(route.schema?.security ?? []);
    if (unknown.length > 0) {
      throw new Error(
        `${where}: no security scheme ${unknown.join(', ')} in securitySchemes ` +
          `(${Object.keys(securitySchemes).join(', ')})`,
      );
    }
    let operationId = route.schema?.operationId;
    if (methods.length > 1) {
      if (operationId === undefined) return;
      throw new Error(`${where}: one operationId (${operationId}) cannot name several methods`);
    }
    if (operationId === undefined) {
      operationId = deriveOperationId(method, route.url);
      // A new object: a schema literal may be shared by several routes.
      route.schema = { ...route.schema, operationId };
    }
    const owner = owners.get(operationId);
    if (owner !== undefined) throw new Error(`${where}: operationId ${operationId} is ${owner}'s`);
    owners.set(operationId, where);
  });
}

/** The schemes of the catalogue that operations of `paths` name in their `security`, in its order. */
export function namedSecuritySchemes(paths: unknown): {
  [Name in SecuritySchemeName]?: SecurityScheme;
} {
  const named = new Set<string>();
  for (const item of valuesOf(paths)) {
    for (const operation of valuesOf(item)) {
      const security = isRecord(operation) ? operation.security : undefined;
      if (!Array.isArray(security)) continue;
      for (const requirement of security) {
        for (const name of Object.keys(isRecord(requirement) ? requirement : {})) named.add(name);
      }
    }
  }
  const declared: { [Name in SecuritySchemeName]?: SecurityScheme } = {};
  for (const name of Object.keys(securitySchemes)) {
    if (isSchemeName(name) && named.has(name)) declared[name] = securitySchemes[name];
  }
  return declared;
}

function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function valuesOf(value: unknown): unknown[] {
  return isRecord(value) ? Object.values(value) : [];
}
