import { type HttpApp, httpProblem, ProblemDetailsSchema } from '@cads/http';
import type { Database } from '@cads/storage';
import { ExternalsConfig } from '../contracts/api.ts';
import {
  defaultConfig,
  inspectionScopes,
  mergeConfig,
  parseScope,
  pickConfig,
  type Scope,
} from '../domain/config.ts';
import {
  dangerouslyDeleteAllConfigs,
  deleteConfig,
  lockScope,
  readConfigs,
  saveConfig,
} from '../store/config-store.ts';
import { PartialExternalsConfig, ScopeQuery } from './schemas.ts';

export interface ConfigRoutesContext {
  readonly db: Database;
  readonly now: () => Date;
}

function scopeOf(text: string | undefined): Scope {
  const parsed = parseScope(text);
  if ('scope' in parsed) return parsed.scope;
  throw httpProblem('CADS_VALIDATION', parsed.reason, {
    errors: [{ field: 'querystring/scope', reason: parsed.reason }],
  });
}

const tags = ['config'];
const errors = { 400: ProblemDetailsSchema, 401: ProblemDetailsSchema };

/** `GET|POST /api/config` and `POST /api/config/reset`. Admin only: register behind the admin token check (`routes.ts`). */
export function registerConfigRoutes(app: HttpApp, context: ConfigRoutesContext): void {
  const { db, now } = context;
  const effective = async (scope: Scope) => {
    const scopes = inspectionScopes(scope);
    return pickConfig(scopes, await readConfigs(db, scopes));
  };

  app.get(
    '/api/config',
    {
      schema: {
        tags,
        summary: 'The effective config of a scope',
        operationId: 'getConfig',
        description: "The scope's own config, else the global one, else the defaults.",
        querystring: ScopeQuery,
        response: { 200: ExternalsConfig, ...errors },
      },
    },
    async (request) => effective(scopeOf(request.query.scope)),
  );

  app.post(
    '/api/config',
    {
      schema: {
        tags,
        summary: "Deep-merge a partial config into a scope's",
        operationId: 'mergeConfig',
        description:
          'Merged into the effective config of the scope (for a new user or order scope: the ' +
          'global one at this moment); the result must be a valid config. Answers 202 with it.',
        querystring: ScopeQuery,
        body: PartialExternalsConfig,
        response: { 202: ExternalsConfig, ...errors },
      },
    },
    async (request, reply) => {
      const scope = scopeOf(request.query.scope);
      const config = await db.transaction(async (tx) => {
        await lockScope(tx, scope);
        const scopes = inspectionScopes(scope);
        const merged = mergeConfig(pickConfig(scopes, await readConfigs(tx, scopes)), request.body);
        if ('reasons' in merged) {
          throw httpProblem('CADS_VALIDATION', merged.reasons.join('; '), {
            errors: merged.reasons.map((reason) => ({ field: 'body', reason })),
          });
        }
        await saveConfig(tx, scope, merged.config, now());
        return merged.config;
      });
      return reply.code(202).send(config);
    },
  );

  app.post(
    '/api/config/reset',
    {
      schema: {
        tags,
        summary: 'Back to defaults: one scope, or every scope when none is given',
        operationId: 'resetConfig',
        querystring: ScopeQuery,
        response: { 202: ExternalsConfig, ...errors },
      },
    },
    async (request, reply) => {
      if (request.query.scope === undefined) {
        await dangerouslyDeleteAllConfigs(db);
        return reply.code(202).send(defaultConfig());
      }
      const scope = scopeOf(request.query.scope);
      await deleteConfig(db, scope);
      return reply.code(202).send(await effective(scope));
    },
  );
}
