import { describe, expect, it } from 'vitest';
import { isDatabaseUnavailable } from './unavailable.ts';

const withCode = (code: string, message = 'failed') => Object.assign(new Error(message), { code });

describe('isDatabaseUnavailable', () => {
  it.each([
    ['connection refused', withCode('ECONNREFUSED')],
    ['connection reset', withCode('ECONNRESET')],
    ['server shutting down (57P01)', withCode('57P01')],
    ['server starting up (57P03)', withCode('57P03')],
    ['connection failure (08006)', withCode('08006')],
    ['disk full (53100)', withCode('53100')],
    ['too many connections (53300)', withCode('53300')],
    ['read-only (25006)', withCode('25006')],
    ['I/O error (58030)', withCode('58030')],
    ['the driver losing its connection', new Error('Connection terminated unexpectedly')],
    ['a pool timing out', new Error('timeout exceeded when trying to connect')],
    ['a wrapped refusal', new Error('query failed', { cause: withCode('ECONNREFUSED') })],
    ['every address refusing', new AggregateError([withCode('ECONNREFUSED')], 'all failed')],
  ])('says an outage for %s', (_, error) => {
    expect(isDatabaseUnavailable(error)).toBe(true);
  });

  it.each([
    ['a unique violation (23505)', withCode('23505')],
    ['a serialization conflict (40001)', withCode('40001')],
    ['a syntax error (42601)', withCode('42601')],
    ['a missing table (42P01)', withCode('42P01')],
    ['a bug', new TypeError('x is undefined')],
    ['nothing', undefined],
    ['a string', 'ECONNREFUSED'],
  ])('says no outage for %s', (_, error) => {
    expect(isDatabaseUnavailable(error)).toBe(false);
  });
});
