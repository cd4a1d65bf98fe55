import { describe, expect, it } from 'vitest';
import { inlineParameters, sqlLiteral } from './literals.ts';

describe('sqlLiteral', () => {
  it('quotes every value as text, doubling quotes', () => {
    expect(sqlLiteral("it's")).toBe("'it''s'");
    expect(sqlLiteral('back\\slash')).toBe("'back\\slash'");
    expect(sqlLiteral(42)).toBe("'42'");
    expect(sqlLiteral(1.5)).toBe("'1.5'");
    expect(sqlLiteral(true)).toBe("'true'");
    expect(sqlLiteral(null)).toBe('null');
    expect(sqlLiteral(undefined)).toBe('null');
    expect(sqlLiteral(new Date('2026-11-22T10:00:00Z'))).toBe("'2026-11-22T10:00:00.000Z'");
    expect(sqlLiteral({ a: "b'c" })).toBe(`'{"a":"b''c"}'`);
  });

  it('writes arrays in the array input format, elements escaped', () => {
    expect(sqlLiteral(['a', 'b"c', 'd\\e', null])).toBe(`'{"a","b\\"c","d\\\\e",NULL}'`);
    expect(sqlLiteral([1, 2])).toBe(`'{"1","2"}'`);
    expect(sqlLiteral([])).toBe("'{}'");
  });

  it('refuses what PostgreSQL text cannot hold', () => {
    expect(() => sqlLiteral('a\u0000b')).toThrow(TypeError);
    expect(() => sqlLiteral(Symbol('x'))).toThrow(TypeError);
  });
});

describe('inlineParameters', () => {
  it('replaces $n outside quotes, comments and dollar-quoted strings', () => {
    const text = `select $1, '$2', "$3", $$ $1 $$, $tag$ $2 $tag$ -- $1\n, $2::int, $10`;
    const values = ['one', 2, 3, 4, 5, 6, 7, 8, 9, 'ten'];
    expect(inlineParameters(text, values)).toBe(
      `select 'one', '$2', "$3", $$ $1 $$, $tag$ $2 $tag$ -- $1\n, '2'::int, 'ten'`,
    );
  });

  it('refuses a reference without a value', () => {
    expect(() => inlineParameters('select $2', ['only one'])).toThrow(RangeError);
  });
});
