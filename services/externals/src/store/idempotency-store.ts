import { sql, type Transaction } from '@cads/storage';
import type { ExternalSystem } from '../contracts/api.ts';
import type { CallMethod } from '../domain/config.ts';

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

export type Claim =
  | { readonly kind: 'replay'; readonly answer: CallAnswer }
  | { readonly kind: 'fresh'; readonly attempt: number };

/**
 * Claims a call with this key for the rest of the transaction. The upsert locks the key's row
 * until commit, so concurrent calls with one key (on any instance) run one after the other, and
 * each later one finds the answer the first stored: no check-then-insert race. A fresh call
 * counts as one more attempt; a replay counts nothing.
 */
export async function claimCall(tx: Transaction, call: CallKey, at: Date): Promise<Claim> {
  const { rows } = await tx.query<{
    attempts: number;
    status: number | null;
    content_type: string | null;
    body: string | null;
  }>(
    sql`insert into externals_idempotency (system, method, key, attempts, first_seen_at)
        values (${call.system}, ${call.method}, ${call.key}, 1, ${at.toISOString()})
        on conflict (system, method, key) do update
          set attempts = externals_idempotency.attempts
            + case when externals_idempotency.status is null then 1 else 0 end
        returning attempts, status, content_type, body`,
  );
  const row = rows[0];
  if (!row) throw new Error('claiming an idempotency key returned no row');
  if (row.status !== null && row.body !== null) {
    return {
      kind: 'replay',
      answer: { status: row.status, contentType: row.content_type ?? undefined, body: row.body },
    };
  }
  return { kind: 'fresh', attempt: row.attempts };
}

/** Stores the final answer of a claimed key; later calls with the key replay it. */
export async function recordAnswer(
  tx: Transaction,
  call: CallKey,
  answer: CallAnswer,
  at: Date,
): Promise<void> {
  await tx.query(
    sql`update externals_idempotency
        set status = ${answer.status}, content_type = ${answer.contentType ?? null},
            body = ${answer.body}, answered_at = ${at.toISOString()}
        where system = ${call.system} and method = ${call.method} and key = ${call.key}`,
  );
}
