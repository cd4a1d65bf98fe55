import { Compile } from 'typebox/compile';
import {
  defaultEndpoint,
  ExternalsConfig,
  type EndpointConfig,
  type ExternalSystem,
} from '../contracts/api.ts';

/** Where a config applies: everything, one user's calls, or one order's calls. */
export type Scope = 'global' | `user:${string}` | `order:${string}`;

export const globalScope: Scope = 'global';

/** Which endpoint of a system: POST makes the reservation / assignment / charge, DELETE undoes it. */
export type CallMethod = 'post' | 'delete';

/** The seed's behaviour: POST 201, DELETE 204, each after 500 + random(0..1000) ms. */
export function defaultConfig(): ExternalsConfig {
  const system = () => ({ post: defaultEndpoint(201), delete: defaultEndpoint(204) });
  return { restaurant: system(), rider: system(), payment: system() };
}

const scopeId = /^(user|order):(.{1,100})$/s;

/** Parses `?scope=`: absent or `global` is the global scope. */
export function parseScope(text: string | undefined): { scope: Scope } | { reason: string } {
  if (text === undefined || text === 'global') return { scope: globalScope };
  const match = scopeId.exec(text);
  if (!match) {
    return { reason: `scope must be global, user:<userId> or order:<orderId>, not ${text}` };
  }
  return { scope: text as Scope };
}

/** The scopes a call looks at, most specific first: its order, its user, then global. */
export function callScopes(call: { orderId: string; userId: string }): readonly Scope[] {
  return [`order:${call.orderId}`, `user:${call.userId}`, globalScope];
}

/** The scopes `GET /api/config?scope=` looks at: the scope itself, then global. */
export function inspectionScopes(scope: Scope): readonly Scope[] {
  return scope === globalScope ? [globalScope] : [scope, globalScope];
}

/**
 * The config of the most specific scope that has one; the defaults when none has. Scopes are
 * not layered: a scope's stored config is complete (see `mergeConfig`).
 */
export function pickConfig(
  scopes: readonly Scope[],
  stored: ReadonlyMap<string, ExternalsConfig>,
): ExternalsConfig {
  for (const scope of scopes) {
    const config = stored.get(scope);
    if (config) return config;
  }
  return defaultConfig();
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Merges `patch` into `base`: objects merge key by key, anything else (arrays, numbers, null)
 * replaces. Never mutates its inputs. The result is unchecked: validate it before use.
 */
export function deepMerge(base: unknown, patch: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(patch)) return patch;
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    merged[key] = key in base ? deepMerge(base[key], value) : value;
  }
  return merged;
}

const configValidator = Compile(ExternalsConfig);

/** Validates a whole config; the reasons name each invalid field (`config/payment/post/delay`). */
export function checkConfig(
  value: unknown,
): { config: ExternalsConfig } | { reasons: readonly string[] } {
  if (configValidator.Check(value)) return { config: value };
  const reasons = [...configValidator.Errors(value)]
    // A forbidden property is also reported as a `false` sub-schema; one line per problem is enough.
    .filter((error) => error.keyword !== 'boolean')
    .map((error) => {
      const extra = error.params as { additionalProperties?: unknown };
      const names = Array.isArray(extra.additionalProperties)
        ? `: ${extra.additionalProperties.map(String).join(', ')}`
        : '';
      return `config${error.instancePath} ${error.message}${names}`;
    });
  return { reasons: reasons.length > 0 ? reasons : ['config is invalid'] };
}

/**
 * Deep-merges a partial config into `base` (the scope's current effective config) and checks
 * the result, so a scope always stores a complete, valid config.
 */
export function mergeConfig(
  base: ExternalsConfig,
  patch: unknown,
): { config: ExternalsConfig } | { reasons: readonly string[] } {
  return checkConfig(deepMerge(base, patch));
}

/** The endpoint config a call of `system`/`method` follows. */
export function endpointOf(
  config: ExternalsConfig,
  system: ExternalSystem,
  method: CallMethod,
): EndpointConfig {
  return config[system][method];
}
