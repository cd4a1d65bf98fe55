import { randomBytes } from 'node:crypto';
import { createMessage, type Message } from '@cads/messaging';
import { sql, type Transaction } from '@cads/storage';

/**
 * Where a service's transactions put the messages they emit. Guarantee of every outbox: the
 * messages are published if, and only if, the transaction that enqueued them commits (no dual
 * write), at least once.
 */
export interface Outbox {
  /** Inside the caller's transaction; one statement for the whole batch. */
  enqueue(tx: Transaction, messages: readonly Message[]): Promise<void>;
  /** After a transaction that enqueued has committed: publish soon. */
  committed(): void;
}

/**
 * The outbox table (`cads_outbox`) of the service's own database, published by an outbox relay
 * (`createOutboxRelay`), which `committed` wakes. Works with any broker.
 */
export function tableOutbox(relay?: { wake(): void }): Outbox {
  return {
    enqueue,
    committed: () => relay?.wake(),
  };
}

/**
 * Writes messages to the outbox table inside the caller's transaction. They are published by
 * the outbox relay after the transaction commits, and never if it rolls back: the state change
 * and its events are one atomic unit (no dual write). One statement for the whole batch.
 */
export async function enqueue(tx: Transaction, messages: readonly Message[]): Promise<void> {
  if (messages.length === 0) return;
  await tx.query(
    sql`insert into cads_outbox (id, message)
        select m->>'id', m from jsonb_array_elements(${JSON.stringify(messages)}::jsonb) as m`,
  );
}

/** What a handler emits: the envelope fields it may choose. */
export interface Emit<T = unknown> {
  readonly type: string;
  readonly data: T;
  /** Defaults to the subject (the saga's key) of the message being handled. */
  readonly subject?: string;
  readonly dataschema?: string;
}

/**
 * Builds outgoing messages caused by `cause`: same subject and correlation id, and a child
 * span of its trace, so a saga can be followed end to end.
 */
export function createCausedMessage<T>(source: string, cause: Message, emit: Emit<T>): Message<T> {
  return createMessage({
    type: emit.type,
    source,
    subject: emit.subject ?? cause.subject,
    data: emit.data,
    ...(emit.dataschema === undefined ? {} : { dataschema: emit.dataschema }),
    ...(cause.correlationid === undefined ? {} : { correlationid: cause.correlationid }),
    ...(cause.traceparent === undefined
      ? {}
      : { traceparent: childTraceparent(cause.traceparent) }),
  });
}

/** A W3C traceparent with the same trace id and a new parent span id. */
export function childTraceparent(traceparent: string): string {
  const [version, traceId, , flags] = traceparent.split('-');
  return `${version}-${traceId}-${randomBytes(8).toString('hex')}-${flags}`;
}
