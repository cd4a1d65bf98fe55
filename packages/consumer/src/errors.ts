/**
 * The error taxonomy of handlers. A business rejection is not an error: it is an event
 * (`invoice_refused`) written to the outbox, and the handler returns normally.
 */

/** A failure worth retrying later (network, 5xx, timeout): redelivered with backoff. */
export class RetryableError extends Error {
  override readonly name: string = 'RetryableError';
  /** Minimum delay before the next attempt, when the cause said so (e.g. `Retry-After`). */
  readonly retryAfterMs: number | undefined;
  constructor(message: string, options: ErrorOptions & { retryAfterMs?: number } = {}) {
    super(message, options);
    this.retryAfterMs = options.retryAfterMs;
  }
}

/**
 * An outage: a dependency the handler needs (a database, a service, a provider) is unreachable,
 * timing out or answering 5xx. It is not the message's fault, so it is waited out — the
 * consumer keeps the message and tries again with capped backoff, behind its circuit breaker,
 * for as long as its outage budget — never counted against the message's attempts.
 */
export class UnavailableError extends RetryableError {
  override readonly name = 'UnavailableError';
  /** What is unavailable, e.g. `notifications provider`. */
  readonly dependency: string;
  constructor(
    dependency: string,
    message: string,
    options: ErrorOptions & { retryAfterMs?: number } = {},
  ) {
    super(message, options);
    this.dependency = dependency;
  }
}

/** A failure that no retry can fix: the message goes straight to the dead letters. */
export class TerminalError extends Error {
  override readonly name = 'TerminalError';
}

/** Why a message was dead-lettered. */
export type DeadLetterReason =
  | 'invalid_envelope'
  | 'unknown_type'
  | 'invalid_payload'
  | 'terminal_error'
  | 'attempts_exhausted'
  | 'outage_budget_exhausted';
