/** A `timestamptz` column as an ISO-8601 string (PGlite and `pg` both return a `Date`). */
export function isoOf(value: unknown): string {
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'string') return new Date(value).toISOString();
  throw new TypeError(`expected a timestamp, got ${typeof value}`);
}

export function isoOrUndefined(value: unknown): string | undefined {
  return value === null || value === undefined ? undefined : isoOf(value);
}
