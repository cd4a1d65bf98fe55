import { sql, type Queryable, type Transaction } from '@cads/storage';

/**
 * Records `(consumer, id)` for each message id and returns the ids seen for the first time.
 * Run inside the handler's transaction: if the transaction rolls back, so does the record, and
 * a concurrent transaction with the same id waits on the key and then sees the conflict — so
 * each message's effects commit exactly once per consumer.
 */
export async function claimInbox(
  tx: Transaction,
  consumer: string,
  messageIds: readonly string[],
): Promise<Set<string>> {
  if (messageIds.length === 0) return new Set();
  const { rows } = await tx.query<{ message_id: string }>(
    sql`insert into cads_inbox (consumer, message_id)
        select ${consumer}, unnest(${messageIds}::text[])
        on conflict do nothing
        returning message_id`,
  );
  return new Set(rows.map((row) => row.message_id));
}

/**
 * Deletes inbox rows older than `olderThanMs`. A redelivery older than that would be handled
 * again, so keep it well above the brokers' redelivery horizon (default retention: 7 days).
 */
export async function pruneInbox(db: Queryable, olderThanMs: number): Promise<number> {
  const { rowCount } = await db.query(
    sql`delete from cads_inbox where handled_at < now() - make_interval(secs => ${olderThanMs / 1000})`,
  );
  return rowCount;
}
