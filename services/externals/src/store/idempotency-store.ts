import { sql, type Queryable } from '@cads/storage';
import type { ExternalsConfig, ExternalSystem } from '../contracts/api.ts';
import type { CallMethod, Scope } from '../domain/config.ts';
import { configsOf, scopedConfigs } from './config-store.ts';
import type { GuardedWrite } from './guarded-write.ts';

/** An HTTP answer exactly as sent, so a replay is byte-for-byte the same. */
export interface CallAnswer {
  readonly status: number;
  /** Absent for answers without a body (204). */
  readonly contentType: string | undefined;
  readonly body: string;
}

export interface CallKey {
  readonly system: ExternalSystem;
  readonly method: CallMethod;
  readonly key: string;
}

/**
 * A key as read: answered (its first final answer, to replay), or still open after `attempts`
 * calls answered afresh (0 for a key never seen).
 */
export type KeyState =
  | { readonly kind: 'answered'; readonly answer: CallAnswer }
  | { readonly kind: 'open'; readonly attempts: number };

/**
 * What answering a call reads, in one statement: the state of its key and the stored configs
 * of its scopes (see `configsOf`). Reads only, so it takes no lock and a crash after it leaves
 * nothing behind; `recordAttempt` checks that the key has not moved on since.
 */
export async function readCall(
  db: Queryable,
  call: CallKey,
  scopes: readonly Scope[],
): Promise<{ key: KeyState; configs: Map<string, ExternalsConfig> }> {
  const { rows } = await db.query<{
    attempts: number | null;
    status: number | null;
    content_type: string | null;
    body: string | null;
    configs: unknown;
  }>(
    sql`select seen.attempts, seen.status, seen.content_type, seen.body,
               ${scopedConfigs(scopes)} as configs
        from (values (1)) as one_row (n) -- whether or not the key was seen
        left join externals_idempotency seen
          on seen.system = ${call.system} and seen.method = ${call.method}
             and seen.key = ${call.key}`,
  );
  const row = rows[0];
  if (!row) throw new Error('reading a call returned no row');
  const configs = configsOf(row.configs);
  if (row.status !== null && row.body !== null) {
    const answer = {
      status: row.status,
      contentType: row.content_type ?? undefined,
      body: row.body,
    };
    return { key: { kind: 'answered', answer }, configs };
  }
  return { key: { kind: 'open', attempts: row.attempts ?? 0 }, configs };
}

/** One call answered afresh: the `attempt`-th with its key, what it stores, what it writes. */
export interface AttemptRecord {
  readonly attempt: number;
  /** The final answer (2xx/4xx) to store and replay; undefined for a transient one (5xx). */
  readonly answer: CallAnswer | undefined;
  /** The call's effect. */
  readonly write?: GuardedWrite | undefined;
}

/**
 * Records the `attempt`-th call with the key: counts it, stores its final answer, and performs
 * its write, all in one statement, and only if the key is still as `readCall` saw it (open after
 * `attempt - 1` attempts). Returns false, having changed nothing, when another call with the
 * key was recorded in between: read the key again and decide anew.
 *
 * Guarantees: one statement, so the count, the answer and the write commit together or not at
 * all. It is a compare-and-set on the key's row (an upsert; under READ COMMITTED a concurrent
 * record of the key is waited for and the condition rechecked on its result), so the records
 * of one key form one sequence, each made from the state the previous one left: no two calls
 * count as the same attempt, and once an answer is stored nothing more is recorded, so a write
 * happens at most once per key.
 */
export async function recordAttempt(
  db: Queryable,
  call: CallKey,
  record: AttemptRecord,
  at: Date,
): Promise<boolean> {
  const { attempt, answer, write } = record;
  const answeredAt = answer === undefined ? null : at.toISOString();
  const upsert = sql`insert into externals_idempotency
          (system, method, key, attempts, status, content_type, body, first_seen_at, answered_at)
        values (${call.system}, ${call.method}, ${call.key}, ${attempt},
                ${answer?.status ?? null}, ${answer?.contentType ?? null}, ${answer?.body ?? null},
                ${at.toISOString()}, ${answeredAt})
        on conflict (system, method, key) do update
          set attempts = excluded.attempts, status = excluded.status,
              content_type = excluded.content_type, body = excluded.body,
              answered_at = excluded.answered_at
          where externals_idempotency.attempts = ${attempt - 1}
            and externals_idempotency.status is null
        returning 1`;
  // A data-modifying CTE runs to completion even unread; the write reads `recorded`, so it
  // changes nothing unless the upsert did.
  const statement =
    write === undefined
      ? upsert
      : sql`with recorded as (${upsert}),
                 effect as (${write(sql`exists (select from recorded)`)})
            select 1 from recorded`;
  const { rows } = await db.query(statement);
  return rows.length === 1;
}
