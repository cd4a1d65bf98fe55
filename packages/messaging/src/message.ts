import Type, { type Static } from 'typebox';
import { Compile } from 'typebox/compile';
import { v7 as uuidv7 } from 'uuid';

/**
 * The CloudEvents 1.0 envelope (structured JSON mode) every CADS event travels in.
 *
 * `subject` is the partition key: the consumer runtime never handles two messages with the
 * same subject at the same time, and brokers keep their relative order.
 */
export const MessageSchema = Type.Object(
  {
    specversion: Type.Literal('1.0'),
    id: Type.String({ minLength: 1, maxLength: 200 }),
    source: Type.String({ minLength: 1, maxLength: 500 }),
    type: Type.String({ minLength: 1, maxLength: 200, pattern: '^[A-Za-z0-9_.\\-]+$' }),
    subject: Type.String({ minLength: 1, maxLength: 500 }),
    time: Type.String({ format: 'date-time' }),
    datacontenttype: Type.Optional(Type.Literal('application/json')),
    dataschema: Type.Optional(Type.String({ maxLength: 500 })),
    correlationid: Type.Optional(Type.String({ maxLength: 500 })),
    traceparent: Type.Optional(
      Type.String({ pattern: '^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$' }),
    ),
    data: Type.Unknown(),
  },
  { additionalProperties: true },
);

/** A CloudEvent whose `data` is of type `T`. Extension attributes are allowed and preserved. */
export type Message<T = unknown> = Omit<Static<typeof MessageSchema>, 'data'> & {
  readonly data: T;
};

export interface NewMessage<T> {
  readonly type: string;
  readonly source: string;
  readonly subject: string;
  readonly data: T;
  readonly correlationid?: string;
  readonly traceparent?: string;
  readonly dataschema?: string;
  /** Defaults to a new UUIDv7 (time-ordered, so ids sort roughly by creation). */
  readonly id?: string;
  readonly time?: Date;
}

/** Builds an envelope with a fresh UUIDv7 id and the current time. Pure apart from both. */
export function createMessage<T>(input: NewMessage<T>): Message<T> {
  const message: Message<T> = {
    specversion: '1.0',
    id: input.id ?? uuidv7(),
    source: input.source,
    type: input.type,
    subject: input.subject,
    time: (input.time ?? new Date()).toISOString(),
    datacontenttype: 'application/json',
    data: input.data,
  };
  return {
    ...message,
    ...(input.dataschema === undefined ? {} : { dataschema: input.dataschema }),
    ...(input.correlationid === undefined ? {} : { correlationid: input.correlationid }),
    ...(input.traceparent === undefined ? {} : { traceparent: input.traceparent }),
  };
}

const checkMessage = Compile(MessageSchema);

export class InvalidMessageError extends Error {
  override readonly name = 'InvalidMessageError';
  readonly problems: readonly string[];
  constructor(message: string, problems: readonly string[], options?: ErrorOptions) {
    super(message, options);
    this.problems = problems;
  }
}

/**
 * Validates an untrusted value (typically a decoded broker payload) as an envelope.
 * Throws `InvalidMessageError` naming every problem; never returns a partly valid message.
 */
export function parseMessage(value: unknown): Message {
  if (checkMessage.Check(value)) return value;
  const problems = [...checkMessage.Errors(value)].map(
    (error) => `${error.instancePath || '/'} ${error.message}`,
  );
  throw new InvalidMessageError(`invalid CloudEvents envelope: ${problems.join('; ')}`, problems);
}

/** Decodes a JSON broker payload into a validated envelope; throws `InvalidMessageError`. */
export function decodeMessage(payload: Uint8Array | string): Message {
  let value: unknown;
  try {
    value = JSON.parse(typeof payload === 'string' ? payload : new TextDecoder().decode(payload));
  } catch (error) {
    throw new InvalidMessageError('payload is not JSON', [String(error)], { cause: error });
  }
  return parseMessage(value);
}
