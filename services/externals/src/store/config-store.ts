import { sql, type Queryable, type SqlStatement, type Transaction } from '@cads/storage';
import type { ExternalsConfig } from '../contracts/api.ts';
import { checkConfig, type Scope } from '../domain/config.ts';

/**
 * The stored configs of these scopes as one jsonb object, scope → config (null when none has
 * one): a scalar subquery, so a statement can read them along with something else. Parse what
 * it reads with `configsOf`.
 */
export function scopedConfigs(scopes: readonly Scope[]): SqlStatement {
  return sql`(select jsonb_object_agg(scope, config) from externals_config
              where scope = any(${[...scopes]}::text[]))`;
}

/**
 * What `scopedConfigs` read, by scope. Scopes without a config are absent. A stored config that
 * no longer validates (e.g. after a contract change) fails loudly.
 */
export function configsOf(stored: unknown): Map<string, ExternalsConfig> {
  const configs = new Map<string, ExternalsConfig>();
  if (stored === null || stored === undefined) return configs;
  if (typeof stored !== 'object' || Array.isArray(stored)) {
    throw new TypeError(`expected stored configs by scope, got ${typeof stored}`);
  }
  for (const [scope, config] of Object.entries(stored)) {
    const checked = checkConfig(config);
    if ('reasons' in checked) {
      throw new Error(`stored config of ${scope} is invalid: ${checked.reasons.join('; ')}`);
    }
    configs.set(scope, checked.config);
  }
  return configs;
}

/** The stored configs of these scopes, by scope (see `configsOf`). */
export async function readConfigs(
  db: Queryable,
  scopes: readonly Scope[],
): Promise<Map<string, ExternalsConfig>> {
  const { rows } = await db.query<{ configs: unknown }>(
    sql`select ${scopedConfigs(scopes)} as configs`,
  );
  return configsOf(rows[0]?.configs);
}

/** Serialises read-merge-write of one scope's config across requests and instances. */
export async function lockScope(tx: Transaction, scope: Scope): Promise<void> {
  await tx.query(sql`select pg_advisory_xact_lock(hashtext(${`cads.externals.config:${scope}`}))`);
}

export async function saveConfig(
  tx: Transaction,
  scope: Scope,
  config: ExternalsConfig,
  at: Date,
): Promise<void> {
  await tx.query(
    sql`insert into externals_config (scope, config, updated_at)
        values (${scope}, ${JSON.stringify(config)}::jsonb, ${at.toISOString()})
        on conflict (scope) do update set config = excluded.config, updated_at = excluded.updated_at`,
  );
}

export async function deleteConfig(db: Queryable, scope: Scope): Promise<void> {
  await db.query(sql`delete from externals_config where scope = ${scope}`);
}

/** Removes the config of every scope: all calls follow the defaults again. */
export async function dangerouslyDeleteAllConfigs(db: Queryable): Promise<void> {
  await db.query(sql`delete from externals_config where true`);
}
