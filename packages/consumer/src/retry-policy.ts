export interface RetryPolicy {
  /** Deliveries of one message before it is dead-lettered, the first included. Default 8. */
  readonly maxAttempts: number;
  /** Delay after the first failure. Default 100 ms. */
  readonly baseDelayMs: number;
  /** Upper bound of any delay. Default 30 s. */
  readonly maxDelayMs: number;
}

export const defaultRetryPolicy: RetryPolicy = {
  maxAttempts: 8,
  baseDelayMs: 100,
  maxDelayMs: 30_000,
};

/**
 * Delay before attempt `attempt + 1`: exponential with "full jitter" (uniform between half and
 * all of the exponential value), so retries of many failed messages spread out instead of
 * returning together. `random` is injectable for tests.
 */
export function retryDelayMs(
  policy: RetryPolicy,
  attempt: number,
  minimumMs = 0,
  random: () => number = Math.random,
): number {
  const exponential = Math.min(
    policy.maxDelayMs,
    policy.baseDelayMs * 2 ** Math.max(0, attempt - 1),
  );
  const jittered = exponential / 2 + random() * (exponential / 2);
  return Math.round(Math.min(policy.maxDelayMs, Math.max(minimumMs, jittered)));
}
