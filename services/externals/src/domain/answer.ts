import { type EndpointConfig, type ExternalSystem, failureReasons } from '../contracts/api.ts';

/** What an endpoint does with one call, before looking at the request itself. */
export type CallDecision =
  | { readonly kind: 'proceed'; readonly status: number }
  | { readonly kind: 'fail'; readonly status: number; readonly reason: string };

/**
 * The status configured for the `attempt`-th call (1-based) with one idempotency key:
 * `failFirst[attempt - 1]` while there is one, then `response`.
 */
export function configuredStatus(endpoint: EndpointConfig, attempt: number): number {
  return endpoint.failFirst[attempt - 1] ?? endpoint.response;
}

export function isSuccess(status: number): boolean {
  return status >= 200 && status < 300;
}

/**
 * A 2xx or 4xx answer is final: it is stored under its idempotency key and replayed. Any other
 * (5xx, and the odd configured 3xx) is transient, so a retry is answered afresh.
 */
export function isFinal(status: number): boolean {
  return isSuccess(status) || (status >= 400 && status < 500);
}

/**
 * Decides the `attempt`-th call: a configured 2xx proceeds (the effect may still refuse, e.g. an
 * unknown dish); anything else fails with the configured reason, or the system's own.
 */
export function decideCall(
  endpoint: EndpointConfig,
  system: ExternalSystem,
  attempt: number,
): CallDecision {
  const status = configuredStatus(endpoint, attempt);
  if (isSuccess(status)) return { kind: 'proceed', status };
  return { kind: 'fail', status, reason: endpoint.reason ?? failureReasons[system] };
}

/** `delay + random() * randomDelay` ms, rounded; `random` returns [0, 1). */
export function answerDelayMs(endpoint: EndpointConfig, random: () => number): number {
  return Math.round(endpoint.delay + random() * endpoint.randomDelay);
}
