import { createHash, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';

/** Stream, consumer and group names: what the NATS CLI accepts everywhere. */
const NAME = /^[-\w]+$/;
/** One subject token without wildcards (event types may hold several, separated by dots). */
const TOKEN = /^[-\w]+$/;
/** Consumer names end up in API subjects and file names; keep them well below server limits. */
const MAX_CONSUMER_NAME = 200;

export function assertName(kind: string, name: string): void {
  if (!NAME.test(name)) {
    throw new TypeError(`${kind} '${name}' must match ${String(NAME)}`);
  }
}

export function assertSubjectTokens(kind: string, value: string): void {
  if (!value.split('.').every((token) => TOKEN.test(token))) {
    throw new TypeError(
      `${kind} '${value}' must be dot-separated tokens matching ${String(TOKEN)}`,
    );
  }
}

/** The subject messages of `type` are stored under. Throws for a type that is not a subject. */
export function subjectFor(subjectPrefix: string, type: string): string {
  assertSubjectTokens('event type', type);
  return `${subjectPrefix}.${type}`;
}

/**
 * The JetStream consumer of one group for one type: `<group>__<type>` (plus `__<instance>` for a
 * broadcast subscriber). Dots in a type become `_` with a hash suffix, so `a.b` and `a_b` never
 * share a consumer; an accidental clash of two (group, type) pairs is still caught when the
 * consumer is provisioned, because its filter subject differs.
 */
export function consumerNameFor(group: string, type: string, instance?: string): string {
  const typeToken = type.includes('.') ? `${type.replaceAll('.', '_')}_${hash(type, 6)}` : type;
  const name = `${group}__${typeToken}${instance === undefined ? '' : `__${instance}`}`;
  return name.length <= MAX_CONSUMER_NAME
    ? name
    : `${name.slice(0, MAX_CONSUMER_NAME - 13)}_${hash(name, 12)}`;
}

/** `<host>-<pid>-<random>`: readable in `nats consumer ls`, unique across restarts. */
export function defaultInstanceId(): string {
  const host =
    hostname()
      .replace(/[^-\w]/g, '-')
      .slice(0, 32) || 'host';
  return `${host}-${process.pid}-${randomUUID().slice(0, 6)}`;
}

function hash(value: string, length: number): string {
  return createHash('sha256').update(value).digest('hex').slice(0, length);
}
