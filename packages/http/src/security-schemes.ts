import type { FastifyContextConfig } from 'fastify';
import type { HttpApp } from './http-app.ts';

/** An OpenAPI security scheme object, of the kinds the catalogue uses. */
export type SecurityScheme =
  | {
      readonly type: 'http';
      readonly scheme: 'bearer';
      readonly bearerFormat?: string;
      readonly description: string;
    }
  | {
      readonly type: 'apiKey';
      readonly in: 'cookie' | 'header' | 'query';
      readonly name: string;
      readonly description: string;
    };

/**
 * Every credential a CADS service accepts, by the name a route gives in `schema.security`. One
 * catalogue for all services, so a name means the same thing in every OpenAPI document; each
 * document declares (`components.securitySchemes`) only the schemes its operations name.
 */
export const securitySchemes = {
  adminToken: {
    type: 'http',
    scheme: 'bearer',
    description:
      'The deployment’s admin token (`Authorization: Bearer <token>`): operator surfaces ' +
      'such as the external systems’ configuration and inspection.',
  },
  serviceToken: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description:
      'A short-lived token a service signs for the one it calls, with the deployment’s ' +
      'internal secret: the caller (`iss`), the service called (`aud`) and the user the ' +
      'caller acts for, if any (`sub`). These routes are internal, never exposed publicly.',
  },
  session: {
    type: 'apiKey',
    in: 'cookie',
    // The BFF's `sessionCookie`; a test compares them (apps/cli openapi-lint.int.test.ts).
    name: 'cads_session',
    description: 'The browser’s signed session cookie, set by the BFF.',
  },
} as const satisfies Readonly<Record<string, SecurityScheme>>;

export type SecuritySchemeName = keyof typeof securitySchemes;

/** One way in: every scheme it names must be satisfied (scopes are unused: `[]`). */
export type SecurityRequirement = { readonly [Name in SecuritySchemeName]?: readonly string[] };

/**
 * A route's `schema.security`: any one requirement lets a caller in; `[]` documents a public
 * route. Routes may also write it as a literal (`[{ serviceToken: [] }]`): `createHttpApp`
 * refuses, at registration, a route naming a scheme missing from `securitySchemes`.
 */
export type SecurityRequirements = readonly SecurityRequirement[];

/** What a route registered in a scope says of itself, for `defaultRouteSecurity`. */
export interface DocumentedRoute {
  readonly url: string;
  readonly config?: FastifyContextConfig;
}

/**
 * Documents `requirements` (or what it answers for the route) as the security of every route
 * registered on `scope` from now on, its child scopes included, whose schema declares none; a
 * route's own `schema.security` wins. A scope guarded by an auth hook says so once, beside the
 * hook, and routes added to it later are covered. Documentation only: it enforces nothing.
 */
export function defaultRouteSecurity(
  scope: HttpApp,
  requirements: SecurityRequirements | ((route: DocumentedRoute) => SecurityRequirements),
): void {
  scope.addHook('onRoute', (route) => {
    if (route.method === 'HEAD' || route.schema?.security !== undefined) return;
    const security = typeof requirements === 'function' ? requirements(route) : requirements;
    // A new object: a schema literal may be shared by routes with other defaults.
    route.schema = { ...route.schema, security };
  });
}

/** Whether the catalogue defines a scheme named `name`. */
export function isSchemeName(name: string): name is SecuritySchemeName {
  return Object.hasOwn(securitySchemes, name);
}

/** The scheme names `requirements` uses that the catalogue does not define. */
export function unknownSchemes(
  requirements: readonly Readonly<Record<string, readonly string[]>>[],
): string[] {
  return requirements
    .flatMap((requirement) => Object.keys(requirement))
    .filter((name) => !isSchemeName(name));
}
