import type { Message } from '@cads/messaging';
import type { Queryable, Transaction } from '@cads/storage';
import type { Static, TSchema } from 'typebox';
import type { Logger } from '@cads/messaging';
import type { Emit } from './outbox.ts';

/** What a handler gets inside its transaction. */
export interface HandlerContext {
  /** The transaction that also records the inbox entry and the outgoing messages. */
  readonly tx: Transaction;
  /**
   * Adds a message to the outbox of this transaction, caused by the message being handled
   * (same subject and correlation id, child trace span). Returns it, with its id.
   */
  readonly emit: <T>(message: Emit<T>) => Message<T>;
  readonly log: Logger;
  /** 1 on the first delivery of this message to this consumer. */
  readonly attempt: number;
}

/** What `prepare` gets: no transaction is open while it runs. */
export interface PrepareContext {
  /** For reads only; writes belong in `handle`. */
  readonly db: Queryable;
  readonly log: Logger;
  readonly attempt: number;
}

/**
 * How one event type is handled.
 *
 * - `schema` validates `message.data`; a message that does not match is dead-lettered with the
 *   validation errors, never passed to the handler.
 * - `prepare` (optional) runs **outside** the transaction, before it, and may run again for
 *   the same message (after a retry or a crash): use it for slow, idempotent calls such as an
 *   external system with an idempotency key, so no transaction is held open during them.
 * - `handle` runs inside the transaction with `prepare`'s result. Its writes, the inbox entry
 *   and what it emits commit together, exactly once per message; if it throws, none of it
 *   happens and the error decides: `RetryableError` or any other → retried with backoff up to
 *   the attempt limit, `TerminalError` → dead letters at once.
 */
export interface HandlerDefinition<S extends TSchema = TSchema, P = unknown> {
  readonly schema: S;
  // Method syntax on purpose: a map of handlers of different schemas is then one type.
  prepare?(message: Message<Static<S>>, context: PrepareContext): Promise<P>;
  handle(message: Message<Static<S>>, context: HandlerContext, prepared: P): Promise<void>;
}

/** Declares a handler with its data schema; types flow from the schema to the handler. */
export function on<S extends TSchema, P = undefined>(
  schema: S,
  handle: HandlerDefinition<S, P>['handle'],
  prepare?: HandlerDefinition<S, P>['prepare'],
): HandlerDefinition<S, P> {
  return prepare ? { schema, handle, prepare } : { schema, handle };
}
