import { sql, type Queryable, type Transaction } from '@cads/storage';
import type { ExternalsConfig } from '../contracts/api.ts';
import { checkConfig, type Scope } from '../domain/config.ts';

/**
 * The stored configs of these scopes, by scope. Scopes without a config are absent. A stored
 * config that no longer validates (e.g. after a contract change) fails loudly.
 */
export async function readConfigs(
  db: Queryable,
  scopes: readonly Scope[],
): Promise<Map<string, ExternalsConfig>> {
  const { rows } = await db.query<{ scope: string; config: unknown }>(
    sql`select scope, config from externals_config where scope = any(${[...scopes]}::text[])`,
  );
  const configs = new Map<string, ExternalsConfig>();
  for (const row of rows) {
    const checked = checkConfig(row.config);
    if ('reasons' in checked) {
      throw new Error(`stored config of ${row.scope} is invalid: ${checked.reasons.join('; ')}`);
    }
    configs.set(row.scope, checked.config);
  }
  return configs;
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
