import { describe, expect, it } from 'vitest';
import { defaultEndpoint } from '../contracts/api.ts';
import { answerDelayMs, configuredStatus, decideCall, isFinal } from './answer.ts';

describe('configuredStatus', () => {
  it('given failFirst [503, 503], answers 503 twice, then the response', () => {
    const endpoint = { ...defaultEndpoint(201), failFirst: [503, 503] };
    expect([1, 2, 3, 4].map((attempt) => configuredStatus(endpoint, attempt))).toEqual([
      503, 503, 201, 201,
    ]);
  });
});

describe('decideCall', () => {
  it('proceeds on a configured 2xx', () => {
    expect(decideCall(defaultEndpoint(200), 'rider', 1)).toEqual({ kind: 'proceed', status: 200 });
  });

  it("fails with the system's own reason by default", () => {
    expect(decideCall(defaultEndpoint(402), 'payment', 1)).toEqual({
      kind: 'fail',
      status: 402,
      reason: 'payment platform busy',
    });
    expect(decideCall(defaultEndpoint(503), 'restaurant', 1)).toMatchObject({
      reason: 'restaurant busy',
    });
    expect(decideCall(defaultEndpoint(404), 'rider', 1)).toMatchObject({
      reason: 'no rider available',
    });
  });

  it('fails with the configured reason when there is one', () => {
    const endpoint = { ...defaultEndpoint(402), reason: 'card declined' };
    expect(decideCall(endpoint, 'payment', 1)).toMatchObject({ reason: 'card declined' });
  });
});

describe('isFinal', () => {
  it('stores 2xx and 4xx answers, never 5xx (nor 3xx)', () => {
    expect([200, 201, 204, 400, 402, 422, 499].every(isFinal)).toBe(true);
    expect([500, 502, 503, 504, 302].some(isFinal)).toBe(false);
  });
});

describe('answerDelayMs', () => {
  it('is delay + random() * randomDelay', () => {
    const endpoint = { ...defaultEndpoint(201), delay: 100, randomDelay: 50 };
    expect(answerDelayMs(endpoint, () => 0)).toBe(100);
    expect(answerDelayMs(endpoint, () => 0.5)).toBe(125);
    expect(answerDelayMs(defaultEndpoint(201), () => 0.999)).toBe(1499);
  });
});
