/**
 * Whether `error` is a PostgreSQL error with SQLSTATE `code` whose message contains
 * `messagePart` (for states several causes share).
 */
export function isSqlError(error: unknown, code: string, messagePart = ''): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as { code?: unknown }).code === code &&
    String((error as { message?: unknown }).message).includes(messagePart)
  );
}

/**
 * A prepared statement whose result columns changed since it was prepared (a table altered under
 * a running process, e.g. during a rolling upgrade): PostgreSQL refuses to run it again, so the
 * adapters prepare it anew under another name. Outside a transaction they retry at once; inside
 * one, the failure has aborted it and the caller runs it again.
 */
export function isStalePlan(error: unknown): boolean {
  return isSqlError(error, '0A000', 'cached plan');
}
