import { sql, type Queryable } from '@cads/storage';
import type { DeadLetterReason } from './errors.ts';

/** A message a consumer gave up on, with the error and the original body. */
export interface DeadLetter {
  readonly consumer: string;
  readonly messageId: string;
  readonly type: string | null;
  readonly subject: string | null;
  /** The delivery body exactly as received (a non-JSON payload is kept as a string). */
  readonly body: unknown;
  readonly reason: DeadLetterReason;
  readonly errorName: string;
  readonly errorMessage: string;
  readonly errorStack: string | null;
  readonly attempts: number;
  readonly firstFailedAt: Date;
  readonly lastFailedAt: Date;
  readonly redriveRequestedAt: Date | null;
}

export interface NewDeadLetter {
  readonly consumer: string;
  readonly messageId: string;
  readonly type: string | undefined;
  readonly subject: string | undefined;
  readonly body: unknown;
  readonly reason: DeadLetterReason;
  readonly error: unknown;
  readonly attempts: number;
}

interface Row {
  consumer: string;
  message_id: string;
  type: string | null;
  subject: string | null;
  body: unknown;
  reason: DeadLetterReason;
  error_name: string;
  error_message: string;
  error_stack: string | null;
  attempts: number;
  first_failed_at: Date;
  last_failed_at: Date;
  redrive_requested_at: Date | null;
}

/**
 * Stores a dead letter. Storing the same `(consumer, messageId)` again (a redelivery that failed
 * again) updates the error and attempts and clears a pending redrive request.
 */
export async function storeDeadLetter(db: Queryable, letter: NewDeadLetter): Promise<void> {
  const error = describeError(letter.error);
  await db.query(
    sql`insert into cads_dead_letters
          (consumer, message_id, type, subject, body, reason, error_name, error_message, error_stack, attempts)
        values (${letter.consumer}, ${letter.messageId}, ${letter.type ?? null}, ${letter.subject ?? null},
                ${JSON.stringify(letter.body ?? null)}::jsonb, ${letter.reason}, ${error.name},
                ${error.message}, ${error.stack}, ${letter.attempts})
        on conflict (consumer, message_id) do update set
          reason = excluded.reason, error_name = excluded.error_name,
          error_message = excluded.error_message, error_stack = excluded.error_stack,
          attempts = cads_dead_letters.attempts + excluded.attempts,
          last_failed_at = now(), redrive_requested_at = null`,
  );
}

export interface DeadLetterQuery {
  readonly consumer?: string;
  readonly limit?: number;
}

/** Dead letters, oldest failure first. */
export async function listDeadLetters(
  db: Queryable,
  query: DeadLetterQuery = {},
): Promise<DeadLetter[]> {
  const { rows } = await db.query<Row>(
    sql`select * from cads_dead_letters
        where ${query.consumer ?? null}::text is null or consumer = ${query.consumer ?? null}
        order by first_failed_at, message_id
        limit ${query.limit ?? 100}`,
  );
  return rows.map(toDeadLetter);
}

export async function getDeadLetter(
  db: Queryable,
  consumer: string,
  messageId: string,
): Promise<DeadLetter | undefined> {
  const { rows } = await db.query<Row>(
    sql`select * from cads_dead_letters where consumer = ${consumer} and message_id = ${messageId}`,
  );
  return rows[0] && toDeadLetter(rows[0]);
}

/**
 * Asks the running consumer to handle the message again: it picks the request up within its
 * redrive poll interval, handles the message through the normal path (inbox, handler, outbox)
 * and deletes the dead letter in the same transaction. Returns false if there is no such letter.
 */
export async function requestRedrive(
  db: Queryable,
  consumer: string,
  messageId: string,
): Promise<boolean> {
  const { rowCount } = await db.query(
    sql`update cads_dead_letters set redrive_requested_at = now()
        where consumer = ${consumer} and message_id = ${messageId}`,
  );
  return rowCount > 0;
}

/** Deletes a dead letter for good. Returns false if there was none. */
export async function discardDeadLetter(
  db: Queryable,
  consumer: string,
  messageId: string,
): Promise<boolean> {
  const { rowCount } = await db.query(
    sql`delete from cads_dead_letters where consumer = ${consumer} and message_id = ${messageId}`,
  );
  return rowCount > 0;
}

export async function countDeadLetters(db: Queryable, consumer: string): Promise<number> {
  const { rows } = await db.query<{ count: number }>(
    sql`select count(*)::int as count from cads_dead_letters where consumer = ${consumer}`,
  );
  return rows[0]?.count ?? 0;
}

export function describeError(error: unknown): {
  name: string;
  message: string;
  stack: string | null;
} {
  if (error instanceof Error) {
    const cause =
      error.cause instanceof Error
        ? `\ncaused by: ${error.cause.stack ?? error.cause.message}`
        : '';
    return { name: error.name, message: error.message, stack: (error.stack ?? '') + cause || null };
  }
  return { name: 'Error', message: String(error), stack: null };
}

function toDeadLetter(row: Row): DeadLetter {
  return {
    consumer: row.consumer,
    messageId: row.message_id,
    type: row.type,
    subject: row.subject,
    body: row.body,
    reason: row.reason,
    errorName: row.error_name,
    errorMessage: row.error_message,
    errorStack: row.error_stack,
    attempts: row.attempts,
    firstFailedAt: row.first_failed_at,
    lastFailedAt: row.last_failed_at,
    redriveRequestedAt: row.redrive_requested_at,
  };
}
