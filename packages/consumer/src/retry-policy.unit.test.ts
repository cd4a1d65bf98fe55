import { describe, expect, it } from 'vitest';
import { defaultRetryPolicy, retryDelayMs } from './retry-policy.ts';

describe('retry delay', () => {
  const policy = { ...defaultRetryPolicy, baseDelayMs: 100, maxDelayMs: 5_000 };

  it('doubles per attempt between half and all of the exponential value', () => {
    expect(retryDelayMs(policy, 1, 0, () => 0)).toBe(50);
    expect(retryDelayMs(policy, 1, 0, () => 1)).toBe(100);
    expect(retryDelayMs(policy, 4, 0, () => 0)).toBe(400);
    expect(retryDelayMs(policy, 4, 0, () => 1)).toBe(800);
  });

  it('never exceeds the maximum and honours a minimum such as Retry-After', () => {
    expect(retryDelayMs(policy, 30, 0, () => 1)).toBe(5_000);
    expect(retryDelayMs(policy, 1, 2_000, () => 0)).toBe(2_000);
  });

  it('spreads the delays of simultaneous failures', () => {
    const delays = new Set(Array.from({ length: 50 }, () => retryDelayMs(policy, 3)));
    expect(delays.size).toBeGreaterThan(10);
  });
});
